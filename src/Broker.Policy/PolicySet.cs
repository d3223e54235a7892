using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>
/// A compiled, immutable policy: every file of the policy directory at one moment. Requests read
/// one snapshot from start to end, so a reload never changes the rules under a running decision.
/// </summary>
public sealed class PolicySet
{
    /// <summary>The policy version: <c>sha256:</c> and 24 hex digits over every file's relative path and content.</summary>
    public required string Version { get; init; }

    /// <summary>The tenants, by name.</summary>
    public required FrozenDictionary<string, TenantPolicy> Tenants { get; init; }

    /// <summary>SPIFFE trust domains any tenant trusts, by trust domain name.</summary>
    public required FrozenDictionary<string, TrustDomainSource> TrustDomains { get; init; }

    /// <summary>OIDC issuers any tenant trusts, by exact issuer URL.</summary>
    public required FrozenDictionary<string, OidcIssuerSource> OidcIssuers { get; init; }

    /// <summary>Sharing across tenants (<c>shares:</c> and <c>accepts:</c>); none by default.</summary>
    public TenantSharing Sharing { get; init; } = TenantSharing.None;
}

/// <summary>One tenant: its capabilities and the rules over them.</summary>
public sealed class TenantPolicy
{
    /// <summary>The tenant's name (<see cref="Grammar.IsTenantName"/>).</summary>
    public required string Name { get; init; }

    /// <summary>No token of this tenant lives longer.</summary>
    public required TimeSpan MaxLifetime { get; init; }

    /// <summary>The tenant's capabilities, by name.</summary>
    public required FrozenDictionary<string, Capability> Capabilities { get; init; }

    /// <summary>The tenant's allow rules, in file order.</summary>
    public required IReadOnlyList<PolicyRule> Rules { get; init; }

    /// <summary>Who may administer this tenant's grants (their identity must also belong to the tenant).</summary>
    public IReadOnlyList<SubjectPattern> Admins { get; init; } = [];

    /// <summary>
    /// Every token of this tenant must be sender-constrained (DPoP or mTLS), as if each capability said
    /// <c>proof_of_possession: true</c>.
    /// </summary>
    public bool RequireProofOfPossession { get; init; }

    /// <summary>The tenant's catalog settings (<c>publishing:</c>, <c>discovery:</c>).</summary>
    public CatalogSettings Catalog { get; init; } = CatalogSettings.Default;

    /// <summary>The tenant's own rate limits; null where the broker-wide default applies.</summary>
    public TenantRateLimits? RateLimits { get; init; }

    /// <summary>The external decision points (OpenID AuthZEN) the tenant's rules may delegate to, by name.</summary>
    public FrozenDictionary<string, DecisionPoint> DecisionPoints { get; init; } = FrozenDictionary<string, DecisionPoint>.Empty;

    /// <summary>The tenant's limits on one task (<c>task_limits:</c>); null for none.</summary>
    public TaskLimits? TaskLimits { get; init; }

    /// <summary>
    /// True when the identity is named in <see cref="Admins"/>, by the source its pattern implies
    /// (<see cref="SourceMatching.Implied"/>): a <c>spiffe://</c> admin is an SVID of that trust domain.
    /// </summary>
    /// <param name="kind">How the identity was validated.</param>
    /// <param name="source">The trust domain name or OIDC issuer URL that vouched for it.</param>
    /// <param name="id">The workload identity.</param>
    /// <returns>True when an admin pattern names the identity.</returns>
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
