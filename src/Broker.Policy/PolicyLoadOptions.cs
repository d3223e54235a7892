namespace Broker.Policy;

/// <summary>What a policy may declare in this process.</summary>
/// <param name="AllowDevIssuer">Accept <c>bundle: dev</c> (only under <c>--dev</c>).</param>
/// <param name="AllowInsecureLoopbackUrls">Accept <c>http://</c> issuers, bundle endpoints, capability resources and decision points on loopback (dev and tests).</param>
/// <param name="MaxTokenLifetime">The ceiling no tenant or capability may exceed.</param>
/// <param name="WorkloadApiConfigured">Accept <c>bundle: workload_api</c> (the broker has a Workload API endpoint).</param>
public sealed record PolicyLoadOptions(bool AllowDevIssuer, bool AllowInsecureLoopbackUrls, TimeSpan MaxTokenLifetime, bool WorkloadApiConfigured = false)
{
    /// <summary>The production defaults: no dev issuer, https only, tokens of at most one hour.</summary>
    public static PolicyLoadOptions Default { get; } = new(false, false, TimeSpan.FromHours(1));

    /// <summary>
    /// The hosts a decision point's <c>url</c> may name (the broker's <c>Broker:AuthZen:AllowedHosts</c>); a decision point
    /// naming any other host is a load error. <see cref="DecisionPointHosts.None"/> (the default) refuses every decision point.
    /// </summary>
    public DecisionPointHosts DecisionPointHosts { get; init; } = DecisionPointHosts.None;
}
