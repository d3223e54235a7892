// Broker.Spiffe — SPIFFE for .NET.

using Broker.Jose;

namespace Broker.Spiffe.Svids;

/// <summary>Options for <see cref="JwtSvid.Validate(string, Bundles.IJwtBundleSource, IReadOnlyCollection{string}, JwtSvidValidationOptions?)"/>. Immutable once built; share one instance.</summary>
public sealed class JwtSvidValidationOptions
{
    /// <summary>The largest accepted <see cref="ClockSkew"/>: 5 minutes.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    private readonly int _maxTokenLength = 8 * 1024;
    private readonly TimeSpan _clockSkew = TimeSpan.FromSeconds(30);
    private readonly TimeProvider _timeProvider = TimeProvider.System;

    private CompactJwsOptions? _readerOptions;

    internal static JwtSvidValidationOptions Default { get; } = new();

    /// <summary>The gate's options for a JWT-SVID: this size limit, <c>typ</c> absent, <c>JWT</c> or <c>JOSE</c>, <c>kid</c> required.</summary>
    internal CompactJwsOptions ReaderOptions => _readerOptions ??= new CompactJwsOptions
    {
        MaxTokenLength = MaxTokenLength,
        AcceptedTypes = JwsTypes.Jwt,
        RequireKeyId = true,
    };

    /// <summary>
    /// The longest token accepted, in characters; checked before anything else. Default 8192 (8 KiB),
    /// ample for a JWT-SVID (SPIRE's are well under 1 KiB). Must be between 1 and 1,048,576.
    /// </summary>
    public int MaxTokenLength
    {
        get => _maxTokenLength;
        init => _maxTokenLength = value is > 0 and <= 1024 * 1024
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "jwtsvid: MaxTokenLength must be between 1 and 1048576.");
    }

    /// <summary>
    /// Leeway for <c>exp</c>, <c>nbf</c> and <c>iat</c>. Default 30 seconds; at most <see cref="MaxClockSkew"/>
    /// (5 minutes) so that a misconfiguration cannot quietly extend token lifetimes by hours.
    /// </summary>
    public TimeSpan ClockSkew
    {
        get => _clockSkew;
        init => _clockSkew = value >= TimeSpan.Zero && value <= MaxClockSkew
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), "jwtsvid: ClockSkew must be between 0 and 5 minutes.");
    }

    /// <summary>The clock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        init => _timeProvider = value ?? throw new ArgumentNullException(nameof(value));
    }
}
