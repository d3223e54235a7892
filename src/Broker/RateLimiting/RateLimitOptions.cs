namespace Broker.RateLimiting;

/// <summary>
/// Rate limits, bound from <c>Broker:RateLimits</c>. Every limit is kept by each replica on its own (no
/// shared state in Redis): with N replicas behind a load balancer a caller may get up to N times a limit.
/// </summary>
internal sealed class RateLimitOptions
{
    /// <summary>
    /// Token exchanges per workload identity, where its tenant's policy sets no <c>rate_limits.per_identity</c>:
    /// <c>N/s</c>, <c>N/m</c>, <c>N/h</c> or <c>off</c>. Default <c>100/s</c>.
    /// </summary>
    public string PerIdentity { get; set; } = "100/s";

    /// <summary>
    /// Token exchanges per tenant, where its policy sets no <c>rate_limits.per_tenant</c>. Default <c>off</c>.
    /// </summary>
    public string PerTenant { get; set; } = "off";

    /// <summary>
    /// Most partitions (identities, tenants, client addresses) each limiter keeps at once, so callers that
    /// vary what they send cannot grow memory without bound. A partition is dropped once its bucket has
    /// been full for ten seconds. Default 10,000; 100 to 1,000,000.
    /// </summary>
    public int MaxPartitions { get; set; } = 10_000;

    /// <summary>Failed authentications per client address (see <see cref="FailedAuthenticationOptions"/>).</summary>
    public FailedAuthenticationOptions FailedAuthentication { get; } = new();
}

/// <summary>
/// After <see cref="Limit"/> failed authentications from one client address (an IPv4 address, or the /64 of an
/// IPv6 one) within a <see cref="Window"/>, further requests from it that need authentication get 429 before any
/// token is looked at. The budget refills continuously at <see cref="Limit"/> per <see cref="Window"/>. Counts refused subject and actor tokens at the token
/// endpoint and refused workload tokens at the admin API, introspection and revocation.
/// </summary>
internal sealed class FailedAuthenticationOptions
{
    /// <summary>Failures allowed per window; 0 turns the limit off. Default 30.</summary>
    public int Limit { get; set; } = 30;

    /// <summary>The window, also the interval of the log line and audit event about an address. Default 1 minute; 1 s to 1 h.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
