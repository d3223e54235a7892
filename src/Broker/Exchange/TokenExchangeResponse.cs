using System.Text.Json.Serialization;

namespace Broker.Exchange;

/// <summary>
/// The success body: RFC 8693 §2.2.1 for a token exchange; RFC 6749 §5.1 for a jwt-bearer grant, which has no
/// <c>issued_token_type</c> (null, and then not written).
/// </summary>
internal sealed record TokenExchangeResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("issued_token_type")] string? IssuedTokenType,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] long ExpiresIn,
    [property: JsonPropertyName("scope")] string Scope);
