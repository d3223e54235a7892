// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>
/// An <see cref="IDPoPReplayCache"/> cannot record an entry: it is full, or its store is unreachable. The proof is
/// refused, since it cannot be shown to be its first use.
/// </summary>
public sealed class DPoPReplayCacheUnavailableException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public DPoPReplayCacheUnavailableException()
        : base("dpop: the replay cache cannot record the proof.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public DPoPReplayCacheUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the store's own exception.</summary>
    public DPoPReplayCacheUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
