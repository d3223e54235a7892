using System.Text.Json.Serialization;

namespace Broker.Contracts.Admin;

/// <summary>
/// Source-generated JSON for the admin API's bodies, used by the broker to write them and by brokerctl to read them:
/// snake_case, nulls left out (except where a model says otherwise), enums as strings, like every body the broker writes.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(GrantView))]
[JsonSerializable(typeof(GrantListView))]
[JsonSerializable(typeof(GrantBindingView))]
[JsonSerializable(typeof(RevokeView))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(BulkRevokeRequest))]
[JsonSerializable(typeof(BulkRevokeView))]
[JsonSerializable(typeof(KeyListView))]
[JsonSerializable(typeof(KeyRotationView))]
[JsonSerializable(typeof(KeyRetirementView))]
public sealed partial class AdminApiJsonContext : JsonSerializerContext;
