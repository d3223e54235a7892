namespace Broker.Tokens;

/// <summary>Token type identifiers used on the wire.</summary>
internal static class CapabilityTokenTypes
{
    /// <summary>RFC 9068 §2.1 JOSE <c>typ</c> of an access token JWT.</summary>
    public const string AccessTokenJwt = "at+jwt";

    /// <summary>RFC 8693 §3 token type URIs.</summary>
    public const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
    public const string Jwt = "urn:ietf:params:oauth:token-type:jwt";
    public const string IdToken = "urn:ietf:params:oauth:token-type:id_token";
}
