namespace Broker.Exchange;

/// <summary>Form parameter names and grant types of <c>POST /oauth2/token</c>.</summary>
internal static class ExchangeParameters
{
    public const string GrantType = "grant_type";
    public const string SubjectToken = "subject_token";
    public const string SubjectTokenType = "subject_token_type";
    public const string ActorToken = "actor_token";
    public const string ActorTokenType = "actor_token_type";
    public const string Resource = "resource";
    public const string Audience = "audience";
    public const string Scope = "scope";
    public const string RequestedTokenType = "requested_token_type";

    /// <summary>RFC 7521 §4.1: the JWT of the jwt-bearer grant.</summary>
    public const string Assertion = "assertion";

    /// <summary>Broker extension: the task the token is for.</summary>
    public const string TaskId = "task_id";

    /// <summary>Broker extension: the purpose of the task.</summary>
    public const string Purpose = "purpose";

    /// <summary>Broker extension: requested lifetime in seconds.</summary>
    public const string ExpiresIn = "expires_in";

    /// <summary>RFC 8693 §2.1 grant type.</summary>
    public const string TokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange";

    /// <summary>
    /// RFC 7523 §2.1 grant type: a workload's JWT (JWT-SVID or OIDC token) as the authorization grant, as the MCP
    /// Workload Identity Federation extension (<c>io.modelcontextprotocol/auth/wif</c>) has SDK clients send it.
    /// </summary>
    public const string JwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";
}
