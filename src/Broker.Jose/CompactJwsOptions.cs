// Broker.Jose — the strict compact-JWS gate.

namespace Broker.Jose;

/// <summary>What <see cref="CompactJws.TryRead"/> accepts besides the rules it always applies. Immutable; share one instance.</summary>
public sealed class CompactJwsOptions
{
    private readonly int _maxTokenLength = 8 * 1024;
    private readonly JwsTypes _acceptedTypes = JwsTypes.Jwt;

    /// <summary>The longest token read, in characters; checked before anything else. Default 8192. Between 1 and 1,048,576.</summary>
    public int MaxTokenLength
    {
        get => _maxTokenLength;
        init => _maxTokenLength = value is > 0 and <= 1024 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "jose: MaxTokenLength must be between 1 and 1048576.");
    }

    /// <summary>The accepted <c>typ</c> values. Default <see cref="JwsTypes.Jwt"/> (absent, <c>JWT</c> or <c>JOSE</c>).</summary>
    public JwsTypes AcceptedTypes
    {
        get => _acceptedTypes;
        init => _acceptedTypes = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// Whether a non-empty <c>kid</c> is required. Default true: keys come from a trusted set, looked up by ID. Off
    /// for tokens that carry their key instead, such as DPoP proofs (RFC 9449 §4.2).
    /// </summary>
    public bool RequireKeyId { get; init; } = true;
}
