using System.Text.Json.Serialization;

namespace Broker.Audit;

/// <summary>Source-generated JSON for audit events (the JSON-lines sink).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AuditEvent))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
