using System.Text.Json.Serialization;

namespace Broker.Introspection;

/// <summary>Source-generated JSON for the RFC 7662 introspection response.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(IntrospectionResponse))]
internal sealed partial class IntrospectionJsonContext : JsonSerializerContext;
