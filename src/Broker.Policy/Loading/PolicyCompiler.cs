using System.Collections.Frozen;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// The last stage of loading: the fragments of every file into one <see cref="PolicySet"/>. Merges the documents of
/// each tenant and refuses what only shows across documents: a tenant setting declared twice, a capability declared
/// twice or a rule naming one its tenant lacks, a resource claimed by two tenants, a trust domain with two bundle
/// sources, an issuer configured two ways, and trust entries of two tenants that could accept one workload.
/// </summary>
internal static class PolicyCompiler
{
    /// <summary>The compiled policy, or null with the conflicts in <paramref name="errors"/>.</summary>
    public static PolicySet? Compile(List<TenantFragment> fragments, string version, PolicyLoadOptions options, List<PolicyError> errors)
    {
        var tenants = new Dictionary<string, TenantPolicy>(StringComparer.Ordinal);
        var trustDomains = new Dictionary<string, List<SpiffeSourceFragment>>(StringComparer.Ordinal);
        var issuers = new Dictionary<string, List<OidcSourceFragment>>(StringComparer.Ordinal);
        var audienceOwners = new Dictionary<string, (string Tenant, YamlPolicyReader Reader, YamlNode Node)>(StringComparer.Ordinal);

        foreach (var group in fragments.GroupBy(f => f.Name, StringComparer.Ordinal))
        {
            var parts = group.ToList();
            var lifetimes = parts.Where(p => p.MaxLifetime is not null).ToList();
            foreach (var extra in lifetimes.Skip(1))
            {
                extra.Reader.Error(extra.MaxLifetime!.Value.Node, $"tenant '{group.Key}' already declares max_lifetime in {lifetimes[0].Reader.File}");
            }

            var tenantMax = lifetimes.FirstOrDefault()?.MaxLifetime?.Value ?? TimeSpan.FromMinutes(15);
            var rateLimits = parts.Where(p => p.RateLimits is not null).ToList();
            foreach (var extra in rateLimits.Skip(1))
            {
                extra.Reader.Error(extra.RateLimits!.Value.Node, $"tenant '{group.Key}' already declares rate_limits in {rateLimits[0].Reader.File}");
            }

            var taskLimits = parts.Where(p => p.TaskLimits is not null).ToList();
            foreach (var extra in taskLimits.Skip(1))
            {
                extra.Reader.Error(extra.TaskLimits!.Node, $"tenant '{group.Key}' already declares task_limits in {taskLimits[0].Reader.File}");
            }

            var capabilities = new Dictionary<string, Capability>(StringComparer.Ordinal);
            foreach (var part in parts)
            {
                foreach (var (capability, node) in part.Capabilities)
                {
                    if (!capabilities.TryAdd(capability.Name, capability))
                    {
                        part.Reader.Error(node, $"capability '{capability.Name}' is declared twice in tenant '{group.Key}'");
                    }

                    ClaimAudiences(audienceOwners, capability, group.Key, part.Reader, node);
                }
            }

            if (taskLimits.FirstOrDefault() is { TaskLimits: { } limits } declaring)
            {
                GovernanceReader.CheckTaskLimits(declaring.Reader, group.Key, limits, capabilities);
            }

            var rules = new List<PolicyRule>();
            foreach (var part in parts)
            {
                foreach (var (rule, node) in part.Rules)
                {
                    foreach (var name in rule.Capabilities ?? FrozenSet<string>.Empty)
                    {
                        if (!capabilities.ContainsKey(name) && !SharingReader.IsAccepted(parts, name))
                        {
                            // Rules name capabilities of their own tenant only: nothing crosses tenants.
                            part.Reader.Error(node, $"rule '{rule.Name}' names capability '{name}', which tenant '{group.Key}' does not declare");
                        }
                    }

                    rules.Add(rule);
                }

                foreach (var source in part.Spiffe)
                {
                    if (trustDomains.TryGetValue(source.TrustDomain, out var existing))
                    {
                        if (existing[0].Bundle != source.Bundle)
                        {
                            source.Reader.Error(source.Node, $"trust domain '{source.TrustDomain}' has another bundle source in {existing[0].Reader.File}:{existing[0].Node.Start.Line}; a trust domain has one bundle");
                        }

                        existing.Add(source);
                    }
                    else
                    {
                        trustDomains[source.TrustDomain] = [source];
                    }
                }

                foreach (var source in part.Oidc)
                {
                    if (issuers.TryGetValue(source.Issuer, out var existing))
                    {
                        if (!existing[0].SameValidation(source))
                        {
                            source.Reader.Error(source.Node, $"issuer '{source.Issuer}' is configured differently in {existing[0].Reader.File}:{existing[0].Node.Start.Line}; audiences, jwks_uri, subject and spiffe_trust_domains must agree");
                        }

                        existing.Add(source);
                    }
                    else
                    {
                        issuers[source.Issuer] = [source];
                    }
                }
            }

            var catalog = CatalogSettingsReader.Merge(parts);
            CatalogSettingsReader.Check(catalog, parts, group.Key);
            tenants[group.Key] = new TenantPolicy
            {
                Name = group.Key,
                MaxLifetime = tenantMax > options.MaxTokenLifetime ? options.MaxTokenLifetime : tenantMax,
                Capabilities = capabilities.ToFrozenDictionary(StringComparer.Ordinal),
                Rules = rules,
                Admins = [.. parts.SelectMany(p => p.Admins)],
                RateLimits = rateLimits.FirstOrDefault()?.RateLimits?.Value,
                TaskLimits = taskLimits.FirstOrDefault()?.TaskLimits?.Value,

                // Across a tenant's files the stricter wins: one file that requires proof of possession is enough.
                RequireProofOfPossession = parts.Any(p => p.RequireProofOfPossession),
                DecisionPoints = DecisionPointReader.Merge(group.Key, parts),
                Catalog = catalog,
            };
        }

        // A workload belongs to one tenant: entries of two tenants on one source must not both accept it.
        foreach (var (trustDomain, entries) in trustDomains)
        {
            TenantOverlap.Check($"trust domain '{trustDomain}'", [.. entries.Select(e => (e.Binding, e.Node, e.Reader))]);
        }

        foreach (var (issuer, entries) in issuers)
        {
            TenantOverlap.Check($"issuer '{issuer}'", [.. entries.Select(e => (e.Binding, e.Node, e.Reader))]);
        }

        // Both sides of sharing, once every tenant and capability is known.
        var sharing = SharingReader.Compile(fragments, tenants);
        if (errors.Count > 0)
        {
            return null;
        }

        return new PolicySet
        {
            Version = version,
            Tenants = tenants.ToFrozenDictionary(StringComparer.Ordinal),
            TrustDomains = trustDomains.ToFrozenDictionary(
                kv => kv.Key,
                kv => new TrustDomainSource(kv.Key, kv.Value[0].Bundle, [.. kv.Value.Select(e => e.Binding)]),
                StringComparer.Ordinal),
            OidcIssuers = issuers.ToFrozenDictionary(
                kv => kv.Key,
                kv => new OidcIssuerSource(kv.Key, kv.Value[0].Audiences, kv.Value[0].JwksUri, kv.Value[0].SubjectTemplate, [.. kv.Value.Select(e => e.Binding)])
                {
                    SpiffeTrustDomains = kv.Value[0].SpiffeTrustDomains,
                },
                StringComparer.Ordinal),
            Sharing = sharing,
        };
    }

    /// <summary>
    /// A token's <c>aud</c> (a capability's resource or audience) belongs to one tenant: a verifier that
    /// accepts its own URI must never receive a token another tenant's policy minted for it. Sharing across
    /// tenants is an explicit grant of the owning tenant, not a second declaration.
    /// </summary>
    private static void ClaimAudiences(
        Dictionary<string, (string Tenant, YamlPolicyReader Reader, YamlNode Node)> owners,
        Capability capability,
        string tenant,
        YamlPolicyReader reader,
        YamlNode node)
    {
        foreach (var value in new[] { capability.Resource, capability.Audience })
        {
            if (value is null)
            {
                continue;
            }

            var key = AudienceKey(value);
            if (!owners.TryGetValue(key, out var owner))
            {
                owners[key] = (tenant, reader, node);
            }
            else if (owner.Tenant != tenant)
            {
                reader.Error(node, $"'{value}' already belongs to tenant '{owner.Tenant}' ({owner.Reader.File}:{owner.Node.Start.Line}); a resource or audience belongs to one tenant");
            }
        }
    }

    /// <summary>Compares URIs as a verifier would see them: scheme and host are case-insensitive and the default port is implied.</summary>
    private static string AudienceKey(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.IsAbsoluteUri && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.PathAndQuery, UriFormat.UriEscaped)
            : value;
}
