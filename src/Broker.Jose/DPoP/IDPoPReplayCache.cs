// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>
/// Remembers the proofs accepted within the acceptance window, so each is accepted once (RFC 9449 §11.1). Shared by
/// every replica that accepts proofs for the same endpoints, or a proof refused by one is accepted by the next.
/// </summary>
/// <remarks>
/// One operation, "add if absent, with expiry", atomic across every caller: in Redis <c>SET key 1 NX PX lifetime</c>.
/// Keys come from <see cref="DPoPProofValidator"/>: a fixed-length base64url SHA-256 of the key thumbprint and
/// <c>jti</c>, never the proof itself; an implementation adds its own prefix.
/// </remarks>
public interface IDPoPReplayCache
{
    /// <summary>Records <paramref name="key"/> for <paramref name="lifetime"/> unless it is already recorded and unexpired.</summary>
    /// <param name="key">The entry's key.</param>
    /// <param name="lifetime">How long the entry lives: the width of the window in which the proof is accepted.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>True when the key was absent (the proof is used for the first time); false when it was present.</returns>
    /// <exception cref="DPoPReplayCacheUnavailableException">
    /// The entry cannot be recorded (the cache is full, or its store is unreachable). Implementations throw this, and
    /// only this, so the validator refuses the proof (fail closed) with <see cref="DPoPProofError.ReplayCacheUnavailable"/>.
    /// </exception>
    ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken);
}
