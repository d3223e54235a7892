namespace Broker.Exchange;

/// <summary>
/// A request of <c>/oauth2/token</c> that passed the syntactic checks of its grant type: an RFC 8693 §2.1 token
/// exchange, or an RFC 7523 §2.1 jwt-bearer grant, whose assertion is its subject token. Both run the same pipeline.
/// </summary>
internal sealed record TokenExchangeRequest
{
    /// <summary>
    /// <see cref="ExchangeParameters.TokenExchangeGrantType"/> (the default) or
    /// <see cref="ExchangeParameters.JwtBearerGrantType"/>.
    /// </summary>
    public string GrantType { get; init; } = ExchangeParameters.TokenExchangeGrantType;

    /// <summary>The subject token, or the assertion of a jwt-bearer grant.</summary>
    public required string SubjectToken { get; init; }

    /// <summary>The subject token's type; <c>urn:ietf:params:oauth:token-type:jwt</c> for an assertion.</summary>
    public required string SubjectTokenType { get; init; }

    public string? ActorToken { get; init; }

    public string? ActorTokenType { get; init; }

    /// <summary>RFC 8707 resource indicator: the MCP server's URI.</summary>
    public string? Resource { get; init; }

    /// <summary>A logical audience name.</summary>
    public string? Audience { get; init; }

    /// <summary>The requested capability names, de-duplicated, in request order.</summary>
    public required IReadOnlyList<string> Capabilities { get; init; }

    /// <summary>The requested (and issued) token type: the access-token URI, or <c>jwt</c> when asked for.</summary>
    public required string RequestedTokenType { get; init; }

    /// <summary>
    /// The task this token is for (<c>task_id</c>). Null only for a jwt-bearer grant that names none: that grant is
    /// its own task, whose ID is the grant ID.
    /// </summary>
    public string? TaskId { get; init; }

    /// <summary>
    /// Why the task runs (<c>purpose</c>); <see cref="Broker.Policy.Grammar.NoPurpose"/> for a jwt-bearer grant that declares
    /// none.
    /// </summary>
    public required string Purpose { get; init; }

    /// <summary>Requested lifetime (<c>expires_in</c>), if any; policy may shorten it.</summary>
    public TimeSpan? RequestedLifetime { get; init; }

    /// <summary>True for the RFC 7523 jwt-bearer grant.</summary>
    public bool IsJwtBearer => GrantType == ExchangeParameters.JwtBearerGrantType;
}
