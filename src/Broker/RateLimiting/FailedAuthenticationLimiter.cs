using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Broker.RateLimiting;

/// <summary>
/// Counts failed authentications per client address (<see cref="AddressKey"/>) in a token bucket of
/// <c>Broker:RateLimits:FailedAuthentication:Limit</c> that refills at that many per <c>Window</c>; an address
/// whose bucket holds less than one failure is blocked until it does. Only failures take a bucket: an address that never failed costs
/// nothing, and when every slot is taken (<c>MaxPartitions</c> addresses failing at once) further addresses
/// are not counted rather than all blocked, so a spread-out attacker cannot lock every client out.
/// </summary>
internal sealed class FailedAuthenticationLimiter : IDisposable
{
    private readonly BoundedPartitionedRateLimiter<AddressKey>? _limiter;
    private readonly RateLimitingTelemetry _telemetry;

    public FailedAuthenticationLimiter(IOptions<RateLimitOptions> options, TimeProvider timeProvider, RateLimitingTelemetry telemetry)
    {
        _telemetry = telemetry;
        var value = options.Value;
        var failed = value.FailedAuthentication;
        if (failed.Limit > 0)
        {
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = failed.Limit,
                TokensPerPeriod = failed.Limit,
                ReplenishmentPeriod = failed.Window,
                QueueLimit = 0,
                AutoReplenishment = false,
            };
            _limiter = new BoundedPartitionedRateLimiter<AddressKey>(_ => bucket, value.MaxPartitions, timeProvider);
        }
    }

    /// <summary>True when <paramref name="address"/> has used up its failures; <paramref name="retryAfter"/> says for how long.</summary>
    public bool IsBlocked(IPAddress? address, out TimeSpan retryAfter) => IsBlocked(AddressKey.From(address), out retryAfter);

    /// <inheritdoc cref="IsBlocked(IPAddress?, out TimeSpan)"/>
    public bool IsBlocked(AddressKey address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        return _limiter is not null && !_limiter.HasPermit(address, out retryAfter);
    }

    /// <summary>
    /// Counts a request answered 429 because its address is blocked (<c>broker.rate_limit.rejections</c>). Called where
    /// the 429 is written, not by <see cref="IsBlocked(AddressKey, out TimeSpan)"/>: a request may be asked about twice
    /// (the authentication middleware and the token endpoint's filter).
    /// </summary>
    public void CountRefusal() => _telemetry.Rejected("failed_authentication");

    /// <summary>Counts one failed authentication of <paramref name="address"/>.</summary>
    public void RecordFailure(IPAddress? address) => RecordFailure(AddressKey.From(address));

    /// <inheritdoc cref="RecordFailure(IPAddress?)"/>
    public void RecordFailure(AddressKey address)
    {
        if (_limiter is not null)
        {
            using var lease = _limiter.AttemptAcquire(address);
        }
    }

    public void Dispose() => _limiter?.Dispose();
}
