namespace Broker.Tokens;

/// <summary>Claim names of the capability token beyond the registered ones. A contract with every verifier.</summary>
public static class CapabilityTokenClaims
{
    public const string ClientId = "client_id";
    public const string Scope = "scope";
    public const string Tenant = "tenant";
    public const string TaskId = "task_id";
    public const string Purpose = "purpose";

    /// <summary>RFC 7800 confirmation claim.</summary>
    public const string Confirmation = "cnf";

    /// <summary>RFC 8705 §3.1 certificate thumbprint confirmation method.</summary>
    public const string X509ThumbprintSha256 = "x5t#S256";

    /// <summary>RFC 8693 §4.1 actor claim, nested for earlier actors.</summary>
    public const string Actor = "act";
}
