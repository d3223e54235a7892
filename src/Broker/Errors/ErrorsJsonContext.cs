using System.Text.Json.Serialization;

namespace Broker.Errors;

/// <summary>Source-generated JSON for RFC 6749 §5.2 error bodies.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OAuthErrorResponse))]
internal sealed partial class ErrorsJsonContext : JsonSerializerContext;
