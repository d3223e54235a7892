using System.Text.Json.Serialization;
using Broker.Audit;
using Broker.Discovery;
using Broker.Errors;
using Broker.Exchange;
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
internal sealed partial class BrokerJsonContext : JsonSerializerContext;
