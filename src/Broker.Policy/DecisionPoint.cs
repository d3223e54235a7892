namespace Broker.Policy;

/// <summary>
/// An external policy decision point a tenant declares (<c>decision_points:</c>), speaking the Access Evaluation API of
/// OpenID AuthZEN Authorization API 1.0 (§6, HTTPS binding: <c>POST /access/v1/evaluation</c>). A rule that names it
/// (<c>decision_point:</c>) allows only what the decision point also permits.
/// </summary>
public sealed record DecisionPoint
{
    /// <summary>The longest <see cref="Timeout"/> a policy may set: an exchange waits this long at most.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The longest <see cref="CacheFor"/> a policy may set.</summary>
    public static readonly TimeSpan MaxCacheFor = TimeSpan.FromMinutes(5);

    /// <summary>The <see cref="Timeout"/> when the policy names none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>The tenant that declares it: only that tenant's rules may name it.</summary>
    public required string Tenant { get; init; }

    /// <summary>Its name in the tenant (<c>name:</c>), which rules refer to.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The Access Evaluation endpoint, the only URL the broker sends this decision point's requests to (no discovery, no
    /// redirects): https, or http on loopback where the policy allows it (dev and tests).
    /// </summary>
    public required Uri EvaluationEndpoint { get; init; }

    /// <summary>
    /// The name of a file in the broker's AuthZEN secrets directory (<c>Broker:AuthZen:SecretsDirectory</c>) whose content
    /// is sent as <c>Authorization: Bearer</c>; null to send no credential. A name, never a path: a policy cannot make
    /// the broker read (and send) a file of its choosing.
    /// </summary>
    public string? BearerTokenSecret { get; init; }

    /// <summary>How long one evaluation may take before the broker denies (fail closed).</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>
    /// How long a decision is reused for the very same evaluation request (subject, action, resource and context); null
    /// (the default) asks the decision point every time.
    /// </summary>
    public TimeSpan? CacheFor { get; init; }
}

/// <summary>A capability that a rule delegated: allowed locally, and allowed in the end only if its decision point permits.</summary>
/// <param name="Capability">The capability.</param>
/// <param name="Rule">The name of the rule that matched.</param>
/// <param name="DecisionPoint">The rule's decision point.</param>
public sealed record DelegatedDecision(string Capability, string Rule, DecisionPoint DecisionPoint);
