// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>The key and time step of <see cref="DPoPNonce"/>. Immutable; share one instance.</summary>
public sealed class DPoPNonceOptions
{
    /// <summary>The shortest <see cref="Key"/>: 32 bytes, the output size of HMAC-SHA256 (RFC 2104 §3).</summary>
    public const int MinimumKeyLength = 32;

    private readonly byte[] _key = [];
    private readonly TimeSpan _step = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The HMAC-SHA256 key nonces are made and checked with: at least <see cref="MinimumKeyLength"/> random bytes,
    /// the same on every replica that accepts the nonces, and known to nothing else. Copied on set. Required.
    /// </summary>
    public required byte[] Key
    {
        get => (byte[])_key.Clone();
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            _key = value.Length >= MinimumKeyLength
                ? (byte[])value.Clone()
                : throw new ArgumentOutOfRangeException(nameof(value), $"dpop: the nonce key must be at least {MinimumKeyLength} bytes.");
        }
    }

    /// <summary>
    /// The time step a nonce belongs to. A nonce is accepted in its own step, the next and the one after (see
    /// <see cref="DPoPNonce"/>), so it lives between one and two steps. Default 5 minutes; between 10 seconds and 1 hour.
    /// </summary>
    public TimeSpan Step
    {
        get => _step;
        init => _step = value >= TimeSpan.FromSeconds(10) && value <= TimeSpan.FromHours(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "dpop: the nonce step must be between 10 seconds and 1 hour.");
    }

    /// <summary>The key without a copy, for <see cref="DPoPNonce"/>.</summary>
    internal ReadOnlySpan<byte> KeySpan => _key;
}
