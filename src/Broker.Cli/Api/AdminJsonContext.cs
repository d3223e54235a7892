using System.Text.Json.Serialization;

namespace Broker.Cli.Api;

/// <summary>Source-generated (de)serialisers for the admin API's <c>snake_case</c> bodies.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Grant))]
[JsonSerializable(typeof(GrantPage))]
[JsonSerializable(typeof(RevokeResult))]
[JsonSerializable(typeof(BulkRevokeResult))]
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(BulkRevokeRequest))]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(KeyRotation))]
[JsonSerializable(typeof(KeyRetirement))]
[JsonSerializable(typeof(CatalogView))]
[JsonSerializable(typeof(Publication))]
[JsonSerializable(typeof(Unpublished))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
