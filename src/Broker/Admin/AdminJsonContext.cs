using System.Text.Json.Serialization;

namespace Broker.Admin;

/// <summary>Source-generated JSON for the admin API's bodies (snake_case, nulls omitted, enums as strings, like every body the broker writes).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(GrantView))]
[JsonSerializable(typeof(GrantListView))]
[JsonSerializable(typeof(RevokeView))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(BulkRevokeRequest))]
[JsonSerializable(typeof(BulkRevokeView))]
[JsonSerializable(typeof(AuditListView))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
