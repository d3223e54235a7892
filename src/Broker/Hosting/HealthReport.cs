using System.Text.Json.Serialization;

namespace Broker.Hosting;

/// <summary>The body of <c>/healthz</c> and <c>/readyz</c>.</summary>
public sealed record HealthReport(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, string> Checks);
