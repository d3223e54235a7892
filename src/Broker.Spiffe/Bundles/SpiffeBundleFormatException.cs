// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Bundles;

/// <summary>A SPIFFE bundle or JWK Set document is malformed. The message never contains key material.</summary>
public sealed class SpiffeBundleFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public SpiffeBundleFormatException()
        : base("spiffebundle: malformed bundle.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SpiffeBundleFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying error.</summary>
    public SpiffeBundleFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
