using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>The tenant's catalog keys: <c>publishing: optional|required</c> and <c>discovery: list_unexecutable|hide</c>.</summary>
internal static class CatalogSettingsReader
{
    /// <summary>The keys this reader owns, for the tenant's known-key list.</summary>
    public static readonly string[] Keys = ["publishing", "discovery"];

    /// <summary>Reads the keys of <paramref name="root"/> into <paramref name="fragment"/>; absent keys stay unset.</summary>
    public static void Read(YamlPolicyReader r, YamlMappingNode root, TenantFragment fragment)
    {
        switch (r.Scalar(root, "publishing", "a tenant"))
        {
            case null:
                break;
            case "optional":
                fragment.Publishing = PublishingMode.Optional;
                break;
            case "required":
                fragment.Publishing = PublishingMode.Required;
                break;
            default:
                r.Error(YamlPolicyReader.Get(root, "publishing")!, "'publishing' must be optional or required");
                break;
        }

        switch (r.Scalar(root, "discovery", "a tenant"))
        {
            case null:
                break;
            case "list_unexecutable":
                fragment.Discovery = DiscoveryMode.ListUnexecutable;
                break;
            case "hide":
                fragment.Discovery = DiscoveryMode.Hide;
                break;
            default:
                r.Error(YamlPolicyReader.Get(root, "discovery")!, "'discovery' must be list_unexecutable or hide");
                break;
        }
    }

    /// <summary>
    /// The tenant's settings across its documents: the stricter wins, as for <c>proof_of_possession</c> (one file that
    /// requires publication, or hides what cannot be executed, is enough).
    /// </summary>
    public static CatalogSettings Merge(IEnumerable<TenantFragment> parts)
    {
        var list = parts.ToList();
        var publishing = list.Any(p => p.Publishing == PublishingMode.Required) ? PublishingMode.Required : PublishingMode.Optional;
        var discovery = list.Any(p => p.Discovery == DiscoveryMode.Hide) ? DiscoveryMode.Hide : DiscoveryMode.ListUnexecutable;
        return publishing == PublishingMode.Optional && discovery == DiscoveryMode.ListUnexecutable ? CatalogSettings.Default : new CatalogSettings(publishing, discovery);
    }

    /// <summary>
    /// Under <c>publishing: required</c> a capability is executable only once tools are published under it on its
    /// resource: one without <c>resource</c> or without <c>tools</c> could never be, which is a mistake worth a
    /// file:line error rather than a capability that silently never works.
    /// </summary>
    public static void Check(CatalogSettings settings, IEnumerable<TenantFragment> parts, string tenant)
    {
        if (settings.Publishing != PublishingMode.Required)
        {
            return;
        }

        foreach (var part in parts)
        {
            foreach (var (capability, node) in part.Capabilities)
            {
                if (capability.Resource is null || capability.Tools.Count == 0)
                {
                    part.Reader.Error(node, $"tenant '{tenant}' requires publishing, so capability '{capability.Name}' needs 'resource' and 'tools' (what its MCP server publishes under it)");
                }
            }
        }
    }
}
