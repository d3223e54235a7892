using System.Collections.Frozen;
using Broker.Subjects;

namespace Broker.Policy;

/// <summary>
/// A compiled, immutable policy: every file of the policy directory at one moment. Requests read
/// one snapshot from start to end, so a reload never changes the rules under a running decision.
/// </summary>
public sealed class PolicySet
{
    public required string Version { get; init; }

    public required FrozenDictionary<string, TenantPolicy> Tenants { get; init; }

    /// <summary>SPIFFE trust domains any tenant trusts, by trust domain name.</summary>
    public required FrozenDictionary<string, TrustDomainSource> TrustDomains { get; init; }

    /// <summary>OIDC issuers any tenant trusts, by exact issuer URL.</summary>
    public required FrozenDictionary<string, OidcIssuerSource> OidcIssuers { get; init; }
}

/// <summary>One tenant: its capabilities and the rules over them.</summary>
public sealed class TenantPolicy
{
    public required string Name { get; init; }

    /// <summary>No token of this tenant lives longer.</summary>
    public required TimeSpan MaxLifetime { get; init; }

    public required FrozenDictionary<string, Capability> Capabilities { get; init; }

    public required IReadOnlyList<PolicyRule> Rules { get; init; }

    /// <summary>Who may administer this tenant's grants (their identity must also belong to the tenant).</summary>
    public IReadOnlyList<SubjectPattern> Admins { get; init; } = [];

    /// <summary>
    /// Every token of this tenant must be sender-constrained (DPoP or mTLS), as if each capability said
    /// <c>proof_of_possession: true</c>.
    /// </summary>
    public bool RequireProofOfPossession { get; init; }

    /// <summary>The tenant's own rate limits; null where the broker-wide default applies.</summary>
    public TenantRateLimits? RateLimits { get; init; }

    /// <summary>
    /// True when the identity is named in <see cref="Admins"/>, by the source its pattern implies
    /// (<see cref="SourceMatching.Implied"/>): a <c>spiffe://</c> admin is an SVID of that trust domain.
    /// </summary>
    public bool IsAdmin(IdentityKind kind, string source, string id)
    {
        foreach (var pattern in Admins)
        {
            if (pattern.Matches(kind, source, id, SourceMatching.Implied))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// A tenant's rate limits on the token endpoint (<c>rate_limits:</c>); a null member falls back to
/// <c>Broker:RateLimits</c>.
/// </summary>
/// <param name="PerIdentity">Exchanges per workload identity of the tenant.</param>
/// <param name="PerTenant">Exchanges of the whole tenant.</param>
public sealed record TenantRateLimits(RateLimit? PerIdentity, RateLimit? PerTenant);

/// <summary>A governed MCP capability: a named set of tools on one MCP server.</summary>
public sealed class Capability
{
    public required string Name { get; init; }

    public required string Tenant { get; init; }

    /// <summary>The MCP server's canonical resource URI (RFC 8707), if any.</summary>
    public string? Resource { get; init; }

    /// <summary>A logical audience name the MCP server also answers to, if any.</summary>
    public string? Audience { get; init; }

    public required IReadOnlyList<string> Tools { get; init; }

    public required TimeSpan MaxLifetime { get; init; }

    /// <summary>Tokens for this capability must be sender-constrained (DPoP or mTLS).</summary>
    public bool RequireProofOfPossession { get; init; }
}

/// <summary>What a rule lets its subjects do with its capabilities.</summary>
[Flags]
public enum CapabilityPermissions
{
    None = 0,

    /// <summary>See that the capability exists (catalog).</summary>
    Discover = 1,

    /// <summary>Obtain a token for it and call its tools.</summary>
    Execute = 2,

    /// <summary>Publish or change the capability (catalog).</summary>
    Publish = 4,
}

/// <summary>One allow rule. There are no deny rules: anything no rule allows is denied.</summary>
public sealed class PolicyRule
{
    public required string Name { get; init; }

    public required IReadOnlyList<SubjectPattern> Subjects { get; init; }

    public required IReadOnlyList<ClaimCondition> Claims { get; init; }

    /// <summary>Capability names; null means every capability of the tenant.</summary>
    public required FrozenSet<string>? Capabilities { get; init; }

    public required CapabilityPermissions Permissions { get; init; }

    /// <summary>Allowed purposes; null means any purpose.</summary>
    public required FrozenSet<string>? Purposes { get; init; }

    /// <summary>Who may act for the subjects; null means no delegation under this rule.</summary>
    public DelegationRule? Delegation { get; init; }

    public bool Covers(string capability) => Capabilities is null || Capabilities.Contains(capability);

    /// <summary>True when a pattern of <see cref="Subjects"/> matches the identity, from any source that placed it in the tenant.</summary>
    public bool MatchesSubject(WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        foreach (var pattern in Subjects)
        {
            if (pattern.Matches(subject.Kind, subject.Source, subject.Id, SourceMatching.AnySource))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Delegation under a rule: which actors, and how long the chain may grow.</summary>
public sealed record DelegationRule(IReadOnlyList<SubjectPattern> Actors, int MaxDepth)
{
    /// <summary>An actor named only by its identity (an earlier link of a chain): source-qualified patterns do not match.</summary>
    public bool AllowsActor(string actor) => Actors.Any(p => p.Matches(actor));

    /// <summary>The actor presented with this request, matched with its source.</summary>
    public bool AllowsActor(WorkloadIdentity actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        return Actors.Any(p => p.Matches(actor.Kind, actor.Source, actor.Id, SourceMatching.AnySource));
    }
}

/// <summary>
/// A tenant's claim on an identity source: tokens from the source belong to the tenant when the
/// subject and claims match. Lets one trust domain or cluster issuer serve several tenants.
/// </summary>
public sealed record TenantBinding(string Tenant, IReadOnlyList<SubjectPattern> Subjects, IReadOnlyList<ClaimCondition> Claims)
{
    public bool Matches(string subject, IReadOnlyDictionary<string, IReadOnlyList<string>> claims) =>
        (Subjects.Count == 0 || Subjects.Any(p => p.Matches(subject))) && ClaimCondition.AllSatisfied(Claims, claims);
}

/// <summary>Where a SPIFFE trust domain's bundle comes from.</summary>
public enum BundleSourceKind
{
    /// <summary>A SPIFFE bundle file, re-read when it changes.</summary>
    File = 0,

    /// <summary>A SPIFFE federation bundle endpoint (https_web), polled at its refresh hint.</summary>
    Endpoint = 1,

    /// <summary>The broker's own SPIFFE Workload API (its trust domain and federated ones), live.</summary>
    WorkloadApi = 2,

    /// <summary>The in-process identity source of <c>--dev</c>.</summary>
    Dev = 3,
}

/// <summary>Where a trust domain's bundle comes from; <see cref="File"/> or <see cref="Endpoint"/> set for those kinds.</summary>
public sealed record BundleSourceSpec(BundleSourceKind Kind, string? File = null, Uri? Endpoint = null)
{
    public override string ToString() => Kind switch
    {
        BundleSourceKind.File => $"file {File}",
        BundleSourceKind.Endpoint => $"endpoint {Endpoint}",
        BundleSourceKind.WorkloadApi => "the Workload API",
        _ => "the dev identity source",
    };
}

/// <summary>A SPIFFE trust domain some tenants trust, with its bundle source.</summary>
public sealed record TrustDomainSource(string TrustDomain, BundleSourceSpec Bundle, IReadOnlyList<TenantBinding> Tenants);

/// <summary>An OIDC issuer some tenants trust, and how its tokens map to workload identities.</summary>
public sealed record OidcIssuerSource(
    string Issuer,
    IReadOnlyList<string> Audiences,
    Uri? JwksUri,
    string SubjectTemplate,
    IReadOnlyList<TenantBinding> Tenants)
{
    /// <summary>
    /// SPIFFE trust domains whose IDs this issuer's subject template may render (<c>spiffe_trust_domains</c>).
    /// An identity it maps to a SPIFFE ID of any other trust domain is refused: an issuer does not speak for
    /// a trust domain unless policy says so.
    /// </summary>
    public FrozenSet<string> SpiffeTrustDomains { get; init; } = FrozenSet<string>.Empty;
}
