namespace Broker.Tokens;

/// <summary>Claim names of the capability token beyond the registered ones. A contract with every verifier.</summary>
internal static class CapabilityTokenClaims
{
    public const string ClientId = "client_id";
    public const string Scope = "scope";
    public const string Tenant = "tenant";
    public const string TaskId = "task_id";
    public const string Purpose = "purpose";

    /// <summary>
    /// The kinds of the chain that caused the request, one letter per identity, subject first then the actors, current
    /// actor first: <c>h</c> human, <c>w</c> workload (<see cref="Broker.Policy.CallerKinds"/>). Always present.
    /// </summary>
    public const string Caller = "caller";

    /// <summary>
    /// On a token of a capability shared across tenants: the consuming tenant, the subject's own (<see cref="Tenant"/>
    /// names the owner, whose MCP servers accept the token). Absent otherwise.
    /// </summary>
    public const string ConsumerTenant = "consumer_tenant";

    /// <summary>RFC 7800 confirmation claim.</summary>
    public const string Confirmation = "cnf";

    /// <summary>RFC 8705 §3.1 certificate thumbprint confirmation method.</summary>
    public const string X509ThumbprintSha256 = "x5t#S256";

    /// <summary>RFC 9449 §6.1 JWK SHA-256 thumbprint confirmation method: the DPoP key the token is bound to.</summary>
    public const string JwkThumbprint = "jkt";

    /// <summary>RFC 8693 §4.1 actor claim, nested for earlier actors.</summary>
    public const string Actor = "act";

    /// <summary>draft-ietf-oauth-status-list §6.2: <c>status</c> holds the token's <c>status_list</c> reference.</summary>
    public const string Status = "status";

    /// <summary>draft-ietf-oauth-status-list §6.2: the member of <c>status</c> with <c>idx</c> and <c>uri</c>.</summary>
    public const string StatusList = "status_list";

    /// <summary>draft-ietf-oauth-status-list §6.2: the token's index in the list.</summary>
    public const string StatusIndex = "idx";

    /// <summary>draft-ietf-oauth-status-list §6.2: the list's URI, equal to the list token's <c>sub</c>.</summary>
    public const string StatusUri = "uri";
}
