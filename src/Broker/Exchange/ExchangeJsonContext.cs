using System.Text.Json.Serialization;

namespace Broker.Exchange;

/// <summary>Source-generated JSON for the token endpoint's RFC 8693 response.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TokenExchangeResponse))]
internal sealed partial class ExchangeJsonContext : JsonSerializerContext;
