namespace Broker.Trust;

/// <summary>What <see cref="TrustBundleRegistry.Health"/> finds: the <c>bundles</c> readiness check's finding.</summary>
/// <param name="Finding">
/// <c>ok</c>; <c>older bundle refused</c> (ready, with <paramref name="Warning"/>); <c>missing</c> or <c>stale</c> (not ready).
/// </param>
/// <param name="Ready">False when subjects of some trust domain cannot be validated with a current bundle.</param>
/// <param name="Warning">For operators, when the finding needs a look without being a reason to refuse service.</param>
internal readonly record struct BundleHealth(string Finding, bool Ready, string? Warning = null)
{
    public static BundleHealth Ok { get; } = new("ok", true);

    public static BundleHealth Missing { get; } = new("missing", false);

    public static BundleHealth Stale { get; } = new("stale", false);

    public static BundleHealth Refused(string warning) => new("older bundle refused", true, warning);
}
