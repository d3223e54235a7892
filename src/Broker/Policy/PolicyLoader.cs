using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Broker.Exchange;
using Broker.Spiffe;
using Broker.Subjects;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy;

/// <summary>
/// Reads every <c>*.yaml</c>/<c>*.yml</c> file under a directory and compiles them into one
/// <see cref="PolicySet"/>. All-or-nothing: one error anywhere and no policy is produced, so a
/// half-valid directory can never become the policy in force. The schema is in docs/policy.md.
/// </summary>
public static class PolicyLoader
{
    private const int MaxFiles = 1000;
    private const int MaxFileBytes = 1024 * 1024;
    private const int MaxNameLength = 128;

    /// <summary>Loads and compiles the policy directory.</summary>
    public static PolicyLoadResult Load(string directory, PolicyLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<PolicyError>();
        if (!Directory.Exists(directory))
        {
            errors.Add(new PolicyError(directory, 0, 0, "the policy directory does not exist"));
            return new PolicyLoadResult(null, errors);
        }

        var root = Path.GetFullPath(directory);
        var files = Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            errors.Add(new PolicyError(directory, 0, 0, "the policy directory has no .yaml or .yml files"));
            return new PolicyLoadResult(null, errors);
        }

        if (files.Count > MaxFiles)
        {
            errors.Add(new PolicyError(directory, 0, 0, $"the policy directory has more than {MaxFiles} files"));
            return new PolicyLoadResult(null, errors);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var fragments = new List<TenantFragment>();
        foreach (var path in files)
        {
            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            byte[] content;
            try
            {
                content = File.ReadAllBytes(path);
            }
            catch (IOException ex)
            {
                errors.Add(new PolicyError(relative, 0, 0, $"cannot read the file: {ex.Message}"));
                continue;
            }

            if (content.Length > MaxFileBytes)
            {
                errors.Add(new PolicyError(relative, 0, 0, $"the file is larger than {MaxFileBytes} bytes"));
                continue;
            }

            // The version covers names and contents: renaming a file is a policy change too.
            hash.AppendData(Encoding.UTF8.GetBytes(relative));
            hash.AppendData([0]);
            hash.AppendData(content);
            hash.AppendData([0]);

            var reader = new YamlPolicyReader(relative, errors);
            ReadFile(reader, Path.GetDirectoryName(path)!, Encoding.UTF8.GetString(content), fragments, options);
        }

        var version = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 12));
        var policy = errors.Count == 0 ? Compile(fragments, version, options, errors) : null;
        return errors.Count == 0 ? new PolicyLoadResult(policy, errors) : new PolicyLoadResult(null, errors);
    }

    private static void ReadFile(YamlPolicyReader reader, string fileDirectory, string text, List<TenantFragment> fragments, PolicyLoadOptions options)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            reader.Error((int)ex.Start.Line, (int)ex.Start.Column, $"not valid YAML: {ex.InnerException?.Message ?? ex.Message}");
            return;
        }

        foreach (var document in stream.Documents)
        {
            if (reader.AsMapping(document.RootNode, "a policy document") is { } root)
            {
                fragments.Add(ReadTenant(reader, fileDirectory, root, options));
            }
        }
    }

    private static TenantFragment ReadTenant(YamlPolicyReader r, string fileDirectory, YamlMappingNode root, PolicyLoadOptions options)
    {
        r.RequireKnownKeys(root, "a policy document", "tenant", "max_lifetime", "trust", "capabilities", "rules", "admins", "rate_limits", "proof_of_possession");
        var name = r.Scalar(root, "tenant", "a policy document", required: true);
        if (name is not null && !IsTenantName(name))
        {
            r.Error(YamlPolicyReader.Get(root, "tenant")!, "'tenant' must be 1-128 characters of a-z 0-9 . _ -");
        }
        else if (name is "." or "..")
        {
            // A tenant's name is a URL path segment (its status list, /statuslists/v1/{tenant}): these two are not.
            r.Error(YamlPolicyReader.Get(root, "tenant")!, "'tenant' must not be '.' or '..': it names URL path segments");
        }

        var fragment = new TenantFragment(r, root, name ?? "");
        var maxLifetime = r.Duration(root, "max_lifetime", "a tenant");
        if (maxLifetime is { } lifetime)
        {
            CheckLifetime(r, YamlPolicyReader.Get(root, "max_lifetime")!, lifetime, options);
            fragment.MaxLifetime = (lifetime, YamlPolicyReader.Get(root, "max_lifetime")!);
        }

        if (YamlPolicyReader.Get(root, "trust") is { } trustNode && r.AsMapping(trustNode, "'trust'") is { } trust)
        {
            r.RequireKnownKeys(trust, "'trust'", "spiffe", "oidc");
            foreach (var node in r.Sequence(trust, "spiffe", "'trust'"))
            {
                if (ReadSpiffeSource(r, fileDirectory, node, fragment.Name, options) is { } source)
                {
                    fragment.Spiffe.Add(source);
                }
            }

            foreach (var node in r.Sequence(trust, "oidc", "'trust'"))
            {
                if (ReadOidcSource(r, node, fragment.Name, options) is { } source)
                {
                    fragment.Oidc.Add(source);
                }
            }
        }

        foreach (var node in r.Sequence(root, "capabilities", "a tenant"))
        {
            if (ReadCapability(r, node, fragment.Name, options) is { } capability)
            {
                fragment.Capabilities.Add((capability, node));
            }
        }

        fragment.Admins.AddRange(ReadPatterns(r, root, "admins", "a tenant"));
        fragment.RequireProofOfPossession = r.Boolean(root, "proof_of_possession", "a tenant") ?? false;
        if (YamlPolicyReader.Get(root, "rate_limits") is { } limitsNode && ReadRateLimits(r, limitsNode) is { } limits)
        {
            fragment.RateLimits = (limits, limitsNode);
        }

        foreach (var node in r.Sequence(root, "rules", "a tenant"))
        {
            if (ReadRule(r, node) is { } rule)
            {
                fragment.Rules.Add((rule, node));
            }
        }

        return fragment;
    }

    private static TenantRateLimits? ReadRateLimits(YamlPolicyReader r, YamlNode node)
    {
        if (r.AsMapping(node, "'rate_limits'") is not { } map)
        {
            return null;
        }

        r.RequireKnownKeys(map, "'rate_limits'", "per_identity", "per_tenant");
        return new TenantRateLimits(ReadRate(r, map, "per_identity"), ReadRate(r, map, "per_tenant"));
    }

    private static RateLimit? ReadRate(YamlPolicyReader r, YamlMappingNode map, string key)
    {
        var text = r.Scalar(map, key, "'rate_limits'");
        if (text is null)
        {
            return null;
        }

        if (!RateLimit.TryParse(text, out var limit))
        {
            r.Error(YamlPolicyReader.Get(map, key)!, $"'{key}' in 'rate_limits' must be a rate such as 50/s, 600/m or 1000/h (at most {RateLimit.MaxPermits} per period), or off");
            return null;
        }

        return limit;
    }

    private static SpiffeSourceFragment? ReadSpiffeSource(YamlPolicyReader r, string fileDirectory, YamlNode node, string tenant, PolicyLoadOptions options)
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

    private static OidcSourceFragment? ReadOidcSource(YamlPolicyReader r, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, "an OIDC trust entry") is not { } map)
        {
            return null;
        }

        const string What = "an OIDC trust entry";
        r.RequireKnownKeys(map, What, "issuer", "audiences", "jwks_uri", "subject", "subjects", "claims", "spiffe_trust_domains");
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
        var binding = ReadBinding(r, map, What, tenant, null);
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
        var subjects = ReadPatterns(r, map, "subjects", what);
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

        return new TenantBinding(tenant, subjects, ReadClaims(r, map, what));
    }

    private static Capability? ReadCapability(YamlPolicyReader r, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, "a capability") is not { } map)
        {
            return null;
        }

        const string What = "a capability";
        r.RequireKnownKeys(map, What, "name", "resource", "audience", "tools", "max_lifetime", "proof_of_possession", "description");
        var name = r.Scalar(map, "name", What, required: true);
        if (name is not null && !IsScopeToken(name))
        {
            r.Error(YamlPolicyReader.Get(map, "name")!, "a capability name must be 1-128 printable ASCII characters without spaces, quotes or backslashes (RFC 6749 scope-token)");
        }

        var resource = r.Scalar(map, "resource", What);
        if (resource is not null && !ResourceUri.IsValid(resource, options.AllowInsecureLoopbackUrls))
        {
            r.Error(YamlPolicyReader.Get(map, "resource")!, "'resource' must be an absolute https URI without a fragment (RFC 8707)");
        }

        var audience = r.Scalar(map, "audience", What);
        if (resource is null && audience is null)
        {
            r.Error(map, "a capability needs 'resource' (the MCP server URI) or 'audience'");
        }

        var maxLifetime = r.Duration(map, "max_lifetime", What);
        if (maxLifetime is { } lifetime)
        {
            CheckLifetime(r, YamlPolicyReader.Get(map, "max_lifetime")!, lifetime, options);
        }

        return name is null ? null : new Capability
        {
            Name = name,
            Tenant = tenant,
            Resource = resource,
            Audience = audience,
            Tools = r.ScalarList(map, "tools", What) ?? [],
            MaxLifetime = maxLifetime ?? options.MaxTokenLifetime,
            RequireProofOfPossession = r.Boolean(map, "proof_of_possession", What) ?? false,
        };
    }

    private static PolicyRule? ReadRule(YamlPolicyReader r, YamlNode node)
    {
        if (r.AsMapping(node, "a rule") is not { } map)
        {
            return null;
        }

        const string What = "a rule";
        r.RequireKnownKeys(map, What, "name", "subjects", "claims", "capabilities", "permissions", "purposes", "delegation");
        var name = r.Scalar(map, "name", What) ?? $"rule at line {map.Start.Line}";
        var subjects = ReadPatterns(r, map, "subjects", What);
        if (subjects.Count == 0)
        {
            r.Error(map, "a rule needs at least one entry in 'subjects'");
        }

        var capabilities = r.ScalarList(map, "capabilities", What, required: true);
        var permissions = CapabilityPermissions.None;
        foreach (var permission in r.ScalarList(map, "permissions", What, required: true) ?? [])
        {
            permissions |= permission switch
            {
                "discover" => CapabilityPermissions.Discover,
                "execute" => CapabilityPermissions.Execute,
                "publish" => CapabilityPermissions.Publish,
                _ => Fail(r, YamlPolicyReader.Get(map, "permissions")!, $"unknown permission '{permission}'; expected discover, execute or publish"),
            };
        }

        var purposes = r.ScalarList(map, "purposes", What);
        foreach (var purpose in purposes ?? [])
        {
            if (!TaskContext.IsValidValue(purpose))
            {
                r.Error(YamlPolicyReader.Get(map, "purposes")!, $"purpose '{purpose}' must be 1-128 characters of A-Z a-z 0-9 . _ : / -");
            }
        }

        DelegationRule? delegation = null;
        if (YamlPolicyReader.Get(map, "delegation") is { } delegationNode && r.AsMapping(delegationNode, "'delegation'") is { } d)
        {
            r.RequireKnownKeys(d, "'delegation'", "actors", "max_depth");
            var actors = ReadPatterns(r, d, "actors", "'delegation'");
            if (actors.Count == 0)
            {
                r.Error(d, "'delegation' needs at least one entry in 'actors'");
            }

            delegation = new DelegationRule(actors, r.Integer(d, "max_depth", "'delegation'", 1, 8) ?? 1);
        }

        return new PolicyRule
        {
            Name = name,
            Subjects = subjects,
            Claims = ReadClaims(r, map, What),
            Capabilities = capabilities is null || capabilities.Contains("*") ? null : capabilities.ToFrozenSet(StringComparer.Ordinal),
            Permissions = permissions,
            Purposes = purposes?.ToFrozenSet(StringComparer.Ordinal),
            Delegation = delegation,
        };
    }

    private static CapabilityPermissions Fail(YamlPolicyReader r, YamlNode node, string message)
    {
        r.Error(node, message);
        return CapabilityPermissions.None;
    }

    private static List<SubjectPattern> ReadPatterns(YamlPolicyReader r, YamlMappingNode map, string key, string what)
    {
        var patterns = new List<SubjectPattern>();
        foreach (var text in r.ScalarList(map, key, what) ?? [])
        {
            if (SubjectPattern.TryCompile(text, out var pattern, out var error))
            {
                patterns.Add(pattern!);
            }
            else
            {
                r.Error(YamlPolicyReader.Get(map, key)!, error!);
            }
        }

        return patterns;
    }

    private static List<ClaimCondition> ReadClaims(YamlPolicyReader r, YamlMappingNode map, string what)
    {
        var conditions = new List<ClaimCondition>();
        if (YamlPolicyReader.Get(map, "claims") is not { } node || r.AsMapping(node, $"'claims' in {what}") is not { } claims)
        {
            return conditions;
        }

        foreach (var (keyNode, _) in claims.Children)
        {
            var path = (keyNode as YamlScalarNode)?.Value;
            if (string.IsNullOrEmpty(path) || path.Length > 256)
            {
                r.Error(keyNode, "a claim path must be 1-256 characters");
                continue;
            }

            if (r.ScalarList(claims, path, $"claim '{path}'", required: true) is { Count: > 0 } values)
            {
                conditions.Add(new ClaimCondition(path, values));
            }
        }

        return conditions;
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

    private static void CheckLifetime(YamlPolicyReader r, YamlNode node, TimeSpan lifetime, PolicyLoadOptions options)
    {
        if (lifetime > options.MaxTokenLifetime)
        {
            r.Error(node, $"a lifetime may not exceed {options.MaxTokenLifetime.TotalMinutes:0} minutes");
        }
    }

    private static PolicySet? Compile(List<TenantFragment> fragments, string version, PolicyLoadOptions options, List<PolicyError> errors)
    {
        var tenants = new Dictionary<string, TenantPolicy>(StringComparer.Ordinal);
        var trustDomains = new Dictionary<string, (SpiffeSourceFragment First, List<TenantBinding> Bindings)>(StringComparer.Ordinal);
        var issuers = new Dictionary<string, (OidcSourceFragment First, List<TenantBinding> Bindings)>(StringComparer.Ordinal);
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

            var rules = new List<PolicyRule>();
            foreach (var part in parts)
            {
                foreach (var (rule, node) in part.Rules)
                {
                    foreach (var name in rule.Capabilities ?? FrozenSet<string>.Empty)
                    {
                        if (!capabilities.ContainsKey(name))
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
                        if (existing.First.Bundle != source.Bundle)
                        {
                            source.Reader.Error(source.Node, $"trust domain '{source.TrustDomain}' has another bundle source in {existing.First.Reader.File}:{existing.First.Node.Start.Line}; a trust domain has one bundle");
                        }

                        existing.Bindings.Add(source.Binding);
                    }
                    else
                    {
                        trustDomains[source.TrustDomain] = (source, [source.Binding]);
                    }
                }

                foreach (var source in part.Oidc)
                {
                    if (issuers.TryGetValue(source.Issuer, out var existing))
                    {
                        if (!existing.First.SameValidation(source))
                        {
                            source.Reader.Error(source.Node, $"issuer '{source.Issuer}' is configured differently in {existing.First.Reader.File}:{existing.First.Node.Start.Line}; audiences, jwks_uri, subject and spiffe_trust_domains must agree");
                        }

                        existing.Bindings.Add(source.Binding);
                    }
                    else
                    {
                        issuers[source.Issuer] = (source, [source.Binding]);
                    }
                }
            }

            tenants[group.Key] = new TenantPolicy
            {
                Name = group.Key,
                MaxLifetime = tenantMax > options.MaxTokenLifetime ? options.MaxTokenLifetime : tenantMax,
                Capabilities = capabilities.ToFrozenDictionary(StringComparer.Ordinal),
                Rules = rules,
                Admins = [.. parts.SelectMany(p => p.Admins)],
                RateLimits = rateLimits.FirstOrDefault()?.RateLimits?.Value,

                // Across a tenant's files the stricter wins: one file that requires proof of possession is enough.
                RequireProofOfPossession = parts.Any(p => p.RequireProofOfPossession),
            };
        }

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
                kv => new TrustDomainSource(kv.Key, kv.Value.First.Bundle, kv.Value.Bindings),
                StringComparer.Ordinal),
            OidcIssuers = issuers.ToFrozenDictionary(
                kv => kv.Key,
                kv => new OidcIssuerSource(kv.Key, kv.Value.First.Audiences, kv.Value.First.JwksUri, kv.Value.First.SubjectTemplate, kv.Value.Bindings)
                {
                    SpiffeTrustDomains = kv.Value.First.SpiffeTrustDomains,
                },
                StringComparer.Ordinal),
        };
    }

    /// <summary>A tenant name: 1-128 characters of a-z 0-9 . _ - (also what the status list endpoint accepts).</summary>
    internal static bool IsTenantName(string value) =>
        value.Length is > 0 and <= MaxNameLength && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-');

    /// <summary>RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.</summary>
    internal static bool IsScopeToken(string value) =>
        value.Length is > 0 and <= MaxNameLength && value.All(c => c == '!' || (c >= '#' && c <= '[') || (c >= ']' && c <= '~'));

    private sealed class TenantFragment(YamlPolicyReader reader, YamlMappingNode node, string name)
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
    }

    private sealed record SpiffeSourceFragment(string TrustDomain, BundleSourceSpec Bundle, TenantBinding Binding, YamlNode Node, YamlPolicyReader Reader);

    private sealed record OidcSourceFragment(string Issuer, IReadOnlyList<string> Audiences, Uri? JwksUri, string SubjectTemplate, FrozenSet<string> SpiffeTrustDomains, TenantBinding Binding, YamlNode Node, YamlPolicyReader Reader)
    {
        public bool SameValidation(OidcSourceFragment other) =>
            Audiences.SequenceEqual(other.Audiences, StringComparer.Ordinal) && JwksUri == other.JwksUri && SubjectTemplate == other.SubjectTemplate
            && SpiffeTrustDomains.SetEquals(other.SpiffeTrustDomains);
    }
}
