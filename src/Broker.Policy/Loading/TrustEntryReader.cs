using System.Collections.Frozen;
using Broker.Spiffe;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// Reads a tenant's trust entries (<c>trust.spiffe</c>, <c>trust.oidc</c>): the identity sources it trusts and the
/// binding that says which of their identities belong to it. Only URLs that pass here are ever fetched.
/// </summary>
internal static class TrustEntryReader
{
    /// <summary>A <c>trust.spiffe</c> entry: the trust domain, its one bundle source, and which of its identities are the tenant's.</summary>
    public static SpiffeSourceFragment? ReadSpiffe(YamlPolicyReader r, string fileDirectory, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, "a SPIFFE trust entry") is not { } map)
        {
            return null;
        }

        const string What = "a SPIFFE trust entry";
        r.RequireKnownKeys(map, What, "trust_domain", "bundle_file", "bundle_endpoint", "bundle", "subjects", "claims");
        var trustDomainText = r.Scalar(map, "trust_domain", What, required: true);
        TrustDomain trustDomain = default;
        if (trustDomainText is not null && !TrustDomain.TryParse(trustDomainText, out trustDomain))
        {
            r.Error(YamlPolicyReader.Get(map, "trust_domain")!, $"'{trustDomainText}' is not a valid SPIFFE trust domain name");
            return null;
        }

        var file = r.Scalar(map, "bundle_file", What);
        var endpoint = r.Scalar(map, "bundle_endpoint", What);
        var special = r.Scalar(map, "bundle", What);
        if ((file is null ? 0 : 1) + (endpoint is null ? 0 : 1) + (special is null ? 0 : 1) != 1)
        {
            r.Error(map, "a SPIFFE trust entry needs exactly one of 'bundle_file', 'bundle_endpoint' or 'bundle: workload_api'");
            return null;
        }

        BundleSourceSpec? spec = null;
        if (file is not null)
        {
            var full = Path.GetFullPath(Path.Combine(fileDirectory, file));
            if (!File.Exists(full))
            {
                r.Error(YamlPolicyReader.Get(map, "bundle_file")!, $"bundle file '{file}' does not exist");
            }

            spec = new BundleSourceSpec(BundleSourceKind.File, File: full);
        }
        else if (endpoint is not null)
        {
            if (CheckUrl(r, YamlPolicyReader.Get(map, "bundle_endpoint")!, endpoint, "bundle_endpoint", options) is { } uri)
            {
                spec = new BundleSourceSpec(BundleSourceKind.Endpoint, Endpoint: uri);
            }
        }
        else if (special == "dev" && options.AllowDevIssuer)
        {
            spec = new BundleSourceSpec(BundleSourceKind.Dev);
        }
        else if (special == "workload_api" && options.WorkloadApiConfigured)
        {
            spec = new BundleSourceSpec(BundleSourceKind.WorkloadApi);
        }
        else
        {
            r.Error(YamlPolicyReader.Get(map, "bundle")!, special switch
            {
                "dev" => "'bundle: dev' is only accepted when the broker runs with --dev",
                "workload_api" => "'bundle: workload_api' needs the SPIFFE Workload API (Broker:Spiffe:EndpointSocket or SPIFFE_ENDPOINT_SOCKET)",
                _ => "'bundle' accepts 'workload_api' or 'dev'",
            });
        }

        var binding = ReadBinding(r, map, What, tenant, trustDomain);
        return spec is null || binding is null || trustDomainText is null ? null : new SpiffeSourceFragment(trustDomain.Name, spec, binding, map, r);
    }

    /// <summary>A <c>trust.oidc</c> entry: the issuer, how its tokens are validated and mapped, and which of its identities are the tenant's.</summary>
    public static OidcSourceFragment? ReadOidc(YamlPolicyReader r, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, "an OIDC trust entry") is not { } map)
        {
            return null;
        }

        const string What = "an OIDC trust entry";
        r.RequireKnownKeys(map, What, "issuer", "audiences", "jwks_uri", "subject", "subjects", "claims", "spiffe_trust_domains", "principal");
        var issuer = r.Scalar(map, "issuer", What, required: true);
        if (issuer is not null && CheckUrl(r, YamlPolicyReader.Get(map, "issuer")!, issuer, "issuer", options) is null)
        {
            return null;
        }

        Uri? jwksUri = null;
        if (r.Scalar(map, "jwks_uri", What) is { } jwks)
        {
            jwksUri = CheckUrl(r, YamlPolicyReader.Get(map, "jwks_uri")!, jwks, "jwks_uri", options);
        }

        var audiences = r.ScalarList(map, "audiences", What) ?? [];
        var template = r.Scalar(map, "subject", What) ?? "{sub}";
        if (!SubjectTemplate.TryParse(template, out _, out var templateError))
        {
            r.Error(YamlPolicyReader.Get(map, "subject")!, templateError!);
        }

        var spiffeTrustDomains = ReadSpiffeTrustDomains(r, map, template);
        var binding = ReadBinding(r, map, What, tenant, null) is { } read ? read with { Principal = GovernanceReader.ReadPrincipal(r, map, What) } : null;
        return issuer is null || binding is null ? null : new OidcSourceFragment(issuer, audiences, jwksUri, template, spiffeTrustDomains, binding, map, r);
    }


    /// <summary>
    /// The trust domains whose SPIFFE IDs the issuer may render. A template that spells out a SPIFFE trust
    /// domain must list it here, so the mistake shows at load time rather than as refused exchanges.
    /// </summary>
    private static FrozenSet<string> ReadSpiffeTrustDomains(YamlPolicyReader r, YamlMappingNode map, string template)
    {
        const string Key = "spiffe_trust_domains";
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var text in r.ScalarList(map, Key, "an OIDC trust entry") ?? [])
        {
            if (TrustDomain.TryParse(text, out var trustDomain))
            {
                names.Add(trustDomain.Name);
            }
            else
            {
                r.Error(YamlPolicyReader.Get(map, Key)!, $"'{text}' in '{Key}' is not a valid SPIFFE trust domain name");
            }
        }

        const string SpiffeScheme = "spiffe://";
        if (template.StartsWith(SpiffeScheme, StringComparison.OrdinalIgnoreCase))
        {
            var rest = template[SpiffeScheme.Length..];
            var end = rest.IndexOfAny(['/', '{']);
            var literal = end < 0 ? rest : rest[..end];
            var node = YamlPolicyReader.Get(map, "subject") ?? map;
            if (end >= 0 && rest[end] == '{')
            {
                // The trust domain would come from a claim: the issuer would choose whose IDs it mints.
                r.Error(node, "a subject template that renders SPIFFE IDs must spell out the trust domain; it may not come from a claim");
            }
            else if (!names.Contains(literal))
            {
                r.Error(node, $"the subject template renders SPIFFE IDs of trust domain '{literal}'; list it in '{Key}' to let this issuer speak for it");
            }
        }

        return names.ToFrozenSet(StringComparer.Ordinal);
    }

    private static TenantBinding? ReadBinding(YamlPolicyReader r, YamlMappingNode map, string what, string tenant, TrustDomain? trustDomain)
    {
        var subjects = TenantReader.ReadPatterns(r, map, "subjects", what);
        foreach (var pattern in subjects.Where(p => p.Issuer is not null))
        {
            r.Error(YamlPolicyReader.Get(map, "subjects")!, $"subject pattern '{pattern.Text}' names a source; a trust entry's subjects are matched within that entry's own source, write them without '{SubjectPattern.OidcPrefix}'");
        }

        if (trustDomain is { } td)
        {
            foreach (var pattern in subjects)
            {
                if (!pattern.Text.StartsWith(td.IdString + "/", StringComparison.Ordinal) && pattern.Text != td.IdString)
                {
                    r.Error(YamlPolicyReader.Get(map, "subjects")!, $"subject pattern '{pattern.Text}' is outside trust domain '{td.Name}'");
                }
            }
        }

        return new TenantBinding(tenant, subjects, TenantReader.ReadClaims(r, map, what));
    }

    private static Uri? CheckUrl(YamlPolicyReader r, YamlNode node, string text, string key, PolicyLoadOptions options)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            r.Error(node, $"'{key}' must be an absolute URL without user info or fragment");
            return null;
        }

        var insecureAllowed = options.AllowInsecureLoopbackUrls && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
        if (uri.Scheme != Uri.UriSchemeHttps && !insecureAllowed)
        {
            r.Error(node, $"'{key}' must use https");
            return null;
        }

        return uri;
    }
}
