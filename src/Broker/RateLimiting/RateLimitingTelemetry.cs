using System.Diagnostics.Metrics;

namespace Broker.RateLimiting;

/// <summary>
/// Rate-limiting metrics (meter <c>Broker.RateLimiting</c>): requests refused with 429, by the limit that refused
/// them. Never the identity, tenant or address: those are unbounded (the audit trail names them).
/// </summary>
internal sealed class RateLimitingTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Broker.RateLimiting";

    private readonly Counter<long> _rejections;

    public RateLimitingTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _rejections = meterFactory.Create(Name).CreateCounter<long>(
            "broker.rate_limit.rejections", "{request}",
            "Requests refused with 429, by limit: identity and tenant (exchanges per workload and per tenant), failed_authentication (an address that kept failing).");
    }

    /// <summary>Counts one refusal by the limit <paramref name="limit"/> (<c>identity</c>, <c>tenant</c>, <c>failed_authentication</c>).</summary>
    public void Rejected(string limit) => _rejections.Add(1, new KeyValuePair<string, object?>("broker.rate_limit.limit", limit));
}
