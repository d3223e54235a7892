using Broker.Policy;

namespace Broker.AuthZen;

/// <summary>
/// Calls to the external decision points tenants declare (OpenID AuthZEN 1.0), bound from <c>Broker:AuthZen</c>.
/// Defaults: <see cref="AllowedHosts"/> none (decision points refused), <see cref="SecretsDirectory"/> none, <see cref="MaxConcurrentRequests"/> 32 per decision point,
/// <see cref="MaxResponseBytes"/> 64 KiB, <see cref="FailuresToOpenCircuit"/> 5, <see cref="OpenCircuitFor"/> 30
/// seconds, <see cref="DecisionCacheSize"/> 10,000. Each decision point's URL, timeout and decision cache lifetime come
/// from the policy that declares it.
/// </summary>
internal sealed class AuthZenOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:AuthZen";

    /// <summary>
    /// The hosts decision points may be at, each an exact host name or IP literal with an optional port
    /// (<c>pdp.example</c> = port 443, <c>pdp.example:8443</c>, <c>[fd00::1]:8443</c>); no wildcards. A policy whose
    /// decision point names another host does not load (for that tenant), and the broker checks again before each call.
    /// Empty (the default): every decision point is refused, so a tenant's policy cannot make the broker POST anywhere.
    /// </summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>
    /// The directory holding the files a decision point's <c>bearer_token_secret</c> names (a Kubernetes secret volume,
    /// say): policy names a file in it, never a path, so a policy author cannot make the broker send any other file. A
    /// decision point that names a secret while none is configured is unavailable (denied).
    /// </summary>
    public string? SecretsDirectory { get; set; }

    /// <summary>
    /// How many evaluations may be in flight to one decision point; past that an exchange that needs it is refused at
    /// once (unavailable) rather than queued, so a slow decision point cannot pile up requests. Between 1 and 1024.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 32;

    /// <summary>The largest answer read from a decision point; a larger one is refused (unavailable). Between 1 KiB and 1 MiB.</summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// After this many failures in a row (timeouts, errors, malformed answers) a decision point's circuit opens: it is
    /// not called, and exchanges that need it are refused at once, for <see cref="OpenCircuitFor"/>; then one trial call
    /// decides whether it closes again. Between 1 and 1000.
    /// </summary>
    public int FailuresToOpenCircuit { get; set; } = 5;

    /// <summary>How long an open circuit stays open before a trial call. Between 1 second and 10 minutes.</summary>
    public TimeSpan OpenCircuitFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most decisions kept by the decision cache, shared by every decision point whose policy sets <c>cache_ttl</c>
    /// (none does by default). Between 1 and 1,000,000.
    /// </summary>
    public int DecisionCacheSize { get; set; } = 10_000;

    /// <summary>
    /// <see cref="AllowedHosts"/> as the policy loader and the client check them; <see cref="DecisionPointHosts.None"/>
    /// when an entry is invalid (which the validator refuses at start).
    /// </summary>
    internal DecisionPointHosts ResolveAllowedHosts() =>
        DecisionPointHosts.TryCreate(AllowedHosts, out var hosts, out _) ? hosts : DecisionPointHosts.None;
}
