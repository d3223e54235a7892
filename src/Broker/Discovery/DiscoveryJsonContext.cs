using System.Text.Json.Serialization;

namespace Broker.Discovery;

/// <summary>Source-generated JSON for the RFC 8414 metadata.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AuthorizationServerMetadata))]
internal sealed partial class DiscoveryJsonContext : JsonSerializerContext;
