using System.Text.Json.Serialization;

namespace Broker.Errors;

/// <summary>The RFC 6749 §5.2 error body.</summary>
internal sealed record OAuthErrorResponse(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string ErrorDescription);
