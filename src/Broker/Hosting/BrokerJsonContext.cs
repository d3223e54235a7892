using System.Text.Json.Serialization;
using Broker.Admin;
using Broker.Audit;
using Broker.Discovery;
using Broker.Errors;
using Broker.Exchange;
using Broker.Introspection;
using Broker.Keys;

namespace Broker.Hosting;

/// <summary>Source-generated JSON for every body the broker writes.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TokenExchangeResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
[JsonSerializable(typeof(JwksDocument))]
[JsonSerializable(typeof(AuthorizationServerMetadata))]
[JsonSerializable(typeof(AuditEvent))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(GrantView))]
[JsonSerializable(typeof(GrantListView))]
[JsonSerializable(typeof(RevokeView))]
[JsonSerializable(typeof(RevokeRequest))]
[JsonSerializable(typeof(BulkRevokeRequest))]
[JsonSerializable(typeof(BulkRevokeView))]
[JsonSerializable(typeof(AuditListView))]
[JsonSerializable(typeof(IntrospectionResponse))]
internal sealed partial class BrokerJsonContext : JsonSerializerContext;
