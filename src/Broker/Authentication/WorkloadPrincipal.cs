using System.Globalization;
using System.Security.Claims;
using Broker.Policy;

namespace Broker.Authentication;

/// <summary>
/// An authenticated workload: its identity together with the source that vouched for it, the tenant
/// policy places it in, and whether it is a global admin. Carried as the request's
/// <see cref="ClaimsPrincipal"/> (<see cref="ToClaimsPrincipal"/>, <see cref="From"/>).
/// </summary>
/// <param name="Id">The workload identity.</param>
/// <param name="Kind">How it was validated.</param>
/// <param name="Source">The trust domain name or OIDC issuer URL that vouched for it.</param>
/// <param name="Tenant">The tenant policy places it in, or null.</param>
/// <param name="IsGlobalAdmin">True when <c>Broker:Admin:GlobalAdmins</c> names it.</param>
internal sealed record WorkloadPrincipal(string Id, IdentityKind Kind, string Source, string? Tenant, bool IsGlobalAdmin)
{
    /// <summary>
    /// The identity with its source, as the audit trail and revocation records name an admin: a SPIFFE ID
    /// validated as an SVID stands for itself (its trust domain is its source); an OIDC identity is written
    /// <c>oidc:ISSUER#ID</c>, the form <c>Broker:Admin:GlobalAdmins</c> and policy patterns use.
    /// </summary>
    public string QualifiedId => Qualify(Kind, Source, Id);

    /// <summary>See <see cref="QualifiedId"/>.</summary>
    public static string Qualify(IdentityKind kind, string source, string id) =>
        kind == IdentityKind.Oidc ? string.Concat(SubjectPattern.OidcPrefix, source, "#", id) : id;

    /// <summary>True when this identity administers <paramref name="tenant"/> by policy: it belongs to it and its <c>admins:</c> name it.</summary>
    public bool IsAdminOf(TenantPolicy tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return string.Equals(Tenant, tenant.Name, StringComparison.Ordinal) && tenant.IsAdmin(Kind, Source, Id);
    }

    public ClaimsPrincipal ToClaimsPrincipal(string scheme)
    {
        List<Claim> claims =
        [
            new(WorkloadAuthenticationDefaults.IdentityClaim, Id),
            new(WorkloadAuthenticationDefaults.KindClaim, Kind.ToString()),
            new(WorkloadAuthenticationDefaults.SourceClaim, Source),
        ];
        if (Tenant is not null)
        {
            claims.Add(new Claim(WorkloadAuthenticationDefaults.TenantClaim, Tenant));
        }

        if (IsGlobalAdmin)
        {
            claims.Add(new Claim(WorkloadAuthenticationDefaults.GlobalAdminClaim, bool.TrueString.ToLowerInvariant(), ClaimValueTypes.Boolean));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, WorkloadAuthenticationDefaults.IdentityClaim, roleType: null));
    }

    /// <summary>The workload a principal of the <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme stands for; null for anything else.</summary>
    public static WorkloadPrincipal? From(ClaimsPrincipal? principal)
    {
        var identity = principal?.Identities.FirstOrDefault(i => i.IsAuthenticated && i.AuthenticationType == WorkloadAuthenticationDefaults.Scheme);
        if (identity?.FindFirst(WorkloadAuthenticationDefaults.IdentityClaim)?.Value is not { } id
            || identity.FindFirst(WorkloadAuthenticationDefaults.SourceClaim)?.Value is not { } source
            || !Enum.TryParse<IdentityKind>(identity.FindFirst(WorkloadAuthenticationDefaults.KindClaim)?.Value, out var kind))
        {
            return null;
        }

        return new WorkloadPrincipal(
            id,
            kind,
            source,
            identity.FindFirst(WorkloadAuthenticationDefaults.TenantClaim)?.Value,
            string.Equals(identity.FindFirst(WorkloadAuthenticationDefaults.GlobalAdminClaim)?.Value, "true", StringComparison.Ordinal));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{QualifiedId} (tenant {Tenant ?? "none"})");
}
