using System.Collections.Frozen;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// What one policy document declares for its tenant, with the YAML nodes it came from, so the compiler can name
/// the file and line of a conflict between documents. Several documents (and files) may declare one tenant.
/// </summary>
internal sealed class TenantFragment(YamlPolicyReader reader, YamlMappingNode node, string name)
{
    public YamlPolicyReader Reader { get; } = reader;

    public YamlMappingNode Node { get; } = node;

    public string Name { get; } = name;

    public (TimeSpan Value, YamlNode Node)? MaxLifetime { get; set; }

    public List<SpiffeSourceFragment> Spiffe { get; } = [];

    public List<OidcSourceFragment> Oidc { get; } = [];

    public List<(Capability Capability, YamlNode Node)> Capabilities { get; } = [];

    public List<(PolicyRule Rule, YamlNode Node)> Rules { get; } = [];

    public List<SubjectPattern> Admins { get; } = [];

    public (TenantRateLimits Value, YamlNode Node)? RateLimits { get; set; }

    public bool RequireProofOfPossession { get; set; }

    public List<(DecisionPoint DecisionPoint, YamlNode Node)> DecisionPoints { get; } = [];
    public PublishingMode? Publishing { get; set; }

    public DiscoveryMode? Discovery { get; set; }

    public TaskLimitsFragment? TaskLimits { get; set; }

    public List<ShareFragment> Shares { get; } = [];

    public List<AcceptFragment> Accepts { get; } = [];
}

/// <summary>A tenant's SPIFFE trust entry.</summary>
internal sealed record SpiffeSourceFragment(string TrustDomain, BundleSourceSpec Bundle, TenantBinding Binding, YamlNode Node, YamlPolicyReader Reader);

/// <summary>A tenant's OIDC trust entry.</summary>
internal sealed record OidcSourceFragment(string Issuer, IReadOnlyList<string> Audiences, Uri? JwksUri, string SubjectTemplate, FrozenSet<string> SpiffeTrustDomains, TenantBinding Binding, YamlNode Node, YamlPolicyReader Reader)
{
    /// <summary>True when both entries validate the issuer's tokens the same way (what tenants sharing an issuer must agree on).</summary>
    public bool SameValidation(OidcSourceFragment other) =>
        Audiences.SequenceEqual(other.Audiences, StringComparer.Ordinal) && JwksUri == other.JwksUri && SubjectTemplate == other.SubjectTemplate
        && SpiffeTrustDomains.SetEquals(other.SpiffeTrustDomains);
}
