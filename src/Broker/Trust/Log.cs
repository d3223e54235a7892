namespace Broker.Trust;

/// <summary>
/// Log messages of the broker's trust sources, EventIds 3100-3199 (beside the signing keys: the bundles it trusts and its
/// own Workload API identity; 6000-6999 belongs to Broker.Spiffe, whose federation client also logs each poll of a
/// bundle endpoint: 6200-6299). Names are a telemetry contract: never rename.
/// </summary>
/// <remarks>The bundle registry's two messages logged 1102 and 1103 while it lived in <c>Subjects/</c>.</remarks>
internal static partial class Log
{
    [LoggerMessage(3100, LogLevel.Information, "Serving TLS with X509-SVID {SpiffeId} from the Workload API.", EventName = nameof(SvidReady))]
    public static partial void SvidReady(ILogger logger, string spiffeId);

    [LoggerMessage(3102, LogLevel.Warning, "Could not load the JWT bundle of trust domain {TrustDomain} from {Source}: {Error}", EventName = nameof(BundleUnavailable))]
    public static partial void BundleUnavailable(ILogger logger, string trustDomain, string source, string error);

    [LoggerMessage(3103, LogLevel.Information, "Loaded the JWT bundle of trust domain {TrustDomain} from {Source}: {KeyCount} key(s).", EventName = nameof(BundleLoaded))]
    public static partial void BundleLoaded(ILogger logger, string trustDomain, string source, int keyCount);
}
