using System.Text.Json.Serialization;

namespace Broker.Cli.Api;

/// <summary>
/// Source-generated (de)serialisers for the admin API's <c>snake_case</c> bodies that brokerctl reads its own way (audit
/// events raw, errors, the catalog); the grant and key bodies are the broker's own models (<see cref="Contracts.Admin.AdminApiJsonContext"/>).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(CatalogView))]
[JsonSerializable(typeof(Publication))]
[JsonSerializable(typeof(Unpublished))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
