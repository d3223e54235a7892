namespace Broker.Telemetry;

/// <summary>
/// A warning a degraded health check gives operators: <c>/readyz</c> lists it (<c>Hosting/HealthModule</c>). Here, where
/// every feature may reach it, rather than in <c>Hosting/</c>, which depends on every feature.
/// </summary>
internal static class ReadinessWarning
{
    /// <summary>The key of a check's warning in its result's data.</summary>
    public const string Key = "warning";

    /// <summary>The data of a degraded result whose warning <c>/readyz</c> lists.</summary>
    public static IReadOnlyDictionary<string, object> Data(string text) => new Dictionary<string, object> { [Key] = text };
}
