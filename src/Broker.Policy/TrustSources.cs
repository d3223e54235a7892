using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>
/// A tenant's claim on an identity source: tokens from the source belong to the tenant when the
/// subject and claims match. Lets one trust domain or cluster issuer serve several tenants.
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Subjects">Which identities of the source are the tenant's; empty means all of them.</param>
/// <param name="Claims">Conditions on the presented token's claims; all must hold.</param>
public sealed record TenantBinding(string Tenant, IReadOnlyList<SubjectPattern> Subjects, IReadOnlyList<ClaimCondition> Claims)
{
    /// <summary>
    /// What the identities this entry accepts are (<c>principal:</c> of an OIDC trust entry); <see cref="PrincipalKind.Workload"/>
    /// unless policy marks them human.
    /// </summary>
    public PrincipalKind Principal { get; init; }

    /// <summary>True when an identity of the source with these claims belongs to <see cref="Tenant"/>.</summary>
    /// <param name="subject">The workload identity.</param>
    /// <param name="claims">The presented token's claims, flattened by path.</param>
    /// <returns>True when the subject and every claim condition match.</returns>
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
/// <param name="Kind">The kind of source.</param>
/// <param name="File">The bundle file's full path, for <see cref="BundleSourceKind.File"/>.</param>
/// <param name="Endpoint">The bundle endpoint, for <see cref="BundleSourceKind.Endpoint"/>.</param>
public sealed record BundleSourceSpec(BundleSourceKind Kind, string? File = null, Uri? Endpoint = null)
{
    /// <summary>The source, for logs.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => Kind switch
    {
        BundleSourceKind.File => $"file {File}",
        BundleSourceKind.Endpoint => $"endpoint {Endpoint}",
        BundleSourceKind.WorkloadApi => "the Workload API",
        _ => "the dev identity source",
    };
}

/// <summary>A SPIFFE trust domain some tenants trust, with its bundle source.</summary>
/// <param name="TrustDomain">The trust domain name.</param>
/// <param name="Bundle">Where its bundle comes from.</param>
/// <param name="Tenants">The tenants that trust it, and which of its identities each accepts.</param>
public sealed record TrustDomainSource(string TrustDomain, BundleSourceSpec Bundle, IReadOnlyList<TenantBinding> Tenants)
{
    private (IReadOnlyList<TenantBinding> Of, TenantBindingIndex Index)? _index;

    /// <summary><see cref="Tenants"/> indexed by subject, built on first use (tenant resolution per request).</summary>
    public TenantBindingIndex TenantIndex => TenantBindingIndexCache.For(Tenants, ref _index);
}

/// <summary>The lazily built <see cref="TenantBindingIndex"/> of a source, rebuilt if a copy of the record (<c>with</c>) holds another list.</summary>
internal static class TenantBindingIndexCache
{
    public static TenantBindingIndex For(IReadOnlyList<TenantBinding> bindings, ref (IReadOnlyList<TenantBinding> Of, TenantBindingIndex Index)? cache)
    {
        // Built at most a few times under a race, each time the same: immutable input, immutable result.
        if (cache is { } cached && ReferenceEquals(cached.Of, bindings))
        {
            return cached.Index;
        }

        var index = new TenantBindingIndex(bindings);
        cache = (bindings, index);
        return index;
    }
}

/// <summary>An OIDC issuer some tenants trust, and how its tokens map to workload identities.</summary>
/// <param name="Issuer">The exact issuer URL (<c>iss</c>).</param>
/// <param name="Audiences">The audiences its tokens must name; empty means the broker's defaults.</param>
/// <param name="JwksUri">Its JWKS, when not the one its discovery document names.</param>
/// <param name="SubjectTemplate">How a token's claims render the workload identity (<see cref="Policy.SubjectTemplate"/>).</param>
/// <param name="Tenants">The tenants that trust it, and which of its identities each accepts.</param>
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

    private (IReadOnlyList<TenantBinding> Of, TenantBindingIndex Index)? _index;

    /// <summary><see cref="Tenants"/> indexed by subject, built on first use (tenant resolution per request).</summary>
    public TenantBindingIndex TenantIndex => TenantBindingIndexCache.For(Tenants, ref _index);
}
