using System.Text.Json.Serialization;

namespace Broker.Hosting;

/// <summary>The body of <c>/healthz</c> and <c>/readyz</c>.</summary>
/// <param name="Status">ok, ready or not ready.</param>
/// <param name="Checks">Each check's name and finding.</param>
/// <param name="Warnings">Findings that do not make the broker unready but need an operator's look; omitted when none.</param>
internal sealed record HealthReport(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, string> Checks,
    [property: JsonPropertyName("warnings")] IReadOnlyList<string>? Warnings = null);
