namespace Broker.Catalog;

/// <summary>Catalog log messages, EventIds 4100-4199. Names are a telemetry contract: never rename.</summary>
/// <remarks>Tokens are never logged; callers are named by their identity, refusals by their catalog reason.</remarks>
internal static partial class Log
{
    [LoggerMessage(4100, LogLevel.Information, "{Publisher} published {Tools} tools on {Resource} in tenant {Tenant}: version {Version}, {Added} added, {Removed} removed, {Changed} changed, {Withdrawn} capabilities withdrawn.", EventName = nameof(Published))]
    public static partial void Published(ILogger logger, string publisher, int tools, string resource, string tenant, long version, int added, int removed, int changed, int withdrawn);

    [LoggerMessage(4101, LogLevel.Information, "{Publisher} unpublished {Resource} in tenant {Tenant}: version {Version}, {Withdrawn} capabilities withdrawn.", EventName = nameof(Unpublished))]
    public static partial void Unpublished(ILogger logger, string publisher, string resource, string tenant, long version, int withdrawn);

    [LoggerMessage(4102, LogLevel.Warning, "Catalog change by {Caller} on {Resource} refused: {Reason}.", EventName = nameof(ChangeRefused))]
    public static partial void ChangeRefused(ILogger logger, string caller, string resource, string reason);
}
