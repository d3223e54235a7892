using System.Text.Json.Serialization;

namespace Broker.Admin;

/// <summary>
/// Source-generated JSON for the admin API's bodies that are the broker's own (the audit page); the rest are shared
/// with brokerctl (<see cref="Contracts.Admin.AdminApiJsonContext"/>, the same options).
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AuditListView))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
