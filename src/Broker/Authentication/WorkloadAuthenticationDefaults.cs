namespace Broker.Authentication;

/// <summary>Names of the workload authentication scheme and of the claims its principals carry.</summary>
internal static class WorkloadAuthenticationDefaults
{
    /// <summary>The scheme: a workload's own JWT-SVID or OIDC token as <c>Authorization: Bearer</c>.</summary>
    public const string Scheme = "Workload";

    /// <summary>The workload identity (a SPIFFE ID, or the identity an OIDC subject template renders).</summary>
    public const string IdentityClaim = "sub";

    /// <summary>How the identity was validated: <c>SpiffeJwt</c>, <c>SpiffeX509</c> or <c>Oidc</c>.</summary>
    public const string KindClaim = "broker:identity_kind";

    /// <summary>Who vouched for it: the SPIFFE trust domain name or the OIDC issuer URL.</summary>
    public const string SourceClaim = "broker:identity_source";

    /// <summary>The tenant policy places the identity in; absent when none (or more than one) does.</summary>
    public const string TenantClaim = "broker:tenant";

    /// <summary>Present, with value <c>true</c>, when <c>Broker:Admin:GlobalAdmins</c> names the identity.</summary>
    public const string GlobalAdminClaim = "broker:global_admin";
}
