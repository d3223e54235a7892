namespace Broker.Tests.Telemetry;

/// <summary>
/// The EventId bands of every <c>[LoggerMessage]</c> in src/: the one table <see cref="LogEventBandsTests"/> checks the
/// code and docs/operations.md ("Log event ids") against. A thousand is an area of the service or a library, a
/// hundred a folder of it. A new folder that logs gets a row here and in the doc; a band never moves.
/// </summary>
internal static class LogEventBands
{
    public static IReadOnlyList<LogEventBand> All { get; } =
    [
        new("Broker", "Broker.Exchange", 1000, 1099),
        new("Broker", "Broker.Subjects", 1100, 1199),
        new("Broker", "Broker.Audit", 1200, 1299),
        new("Broker", "Broker.Hosting", 1300, 1399),
        new("Broker", "Broker.DPoP", 1400, 1499),
        new("Broker", "Broker.Telemetry", 1500, 1599),
        new("Broker", "Broker.Dev", 1900, 1999),
        new("Broker", "Broker.Grants", 2000, 2099),
        new("Broker", "Broker.RevocationFeed", 2100, 2199),
        new("Broker", "Broker.StatusList", 2200, 2299),
        new("Broker", "Broker.Keys", 3000, 3099),
        new("Broker", "Broker.Trust", 3100, 3199),
        new("Broker", "Broker.Policy", 4000, 4099),
        new("Broker", "Broker.Catalog", 4100, 4199),
        new("Broker", "Broker.AuthZen", 4500, 4599),
        new("Broker", "Broker.Admin", 5000, 5099),
        new("Broker", "Broker.Authentication", 5100, 5199),
        new("Broker", "Broker.Review", 5200, 5299),
        new("Broker.Spiffe", "Broker.Spiffe.WorkloadApi", 6000, 6199),
        new("Broker.Spiffe", "Broker.Spiffe.Federation", 6200, 6299),
        new("Broker.Client", "Broker.Client", 7000, 7099),
        new("Broker.Validation", "Broker.Validation.Internal", 8000, 8049),
        new("Broker.Validation", "Broker.Validation.Revocation", 8050, 8099),
        new("Broker.Validation.Mcp", "Broker.Validation.Mcp", 8100, 8199),
    ];
}

/// <summary>
/// EventIds <paramref name="First"/> to <paramref name="Last"/> (inclusive) for the log messages declared in
/// <paramref name="Namespace"/> or a namespace below it, in <paramref name="Assembly"/>.
/// </summary>
internal sealed record LogEventBand(string Assembly, string Namespace, int First, int Last)
{
    public bool Contains(int eventId) => eventId >= First && eventId <= Last;

    public bool Covers(string assembly, string @namespace) =>
        assembly == Assembly
        && (@namespace == Namespace || @namespace.StartsWith(Namespace + ".", StringComparison.Ordinal));
}
