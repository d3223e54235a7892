using System.Collections.Frozen;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// The second stage of loading: one file's YAML documents into <see cref="TenantFragment"/>s, every value checked
/// against the schema (docs/policy.md) and the request grammar, every problem reported with its line and column.
/// Trust entries are read by <see cref="TrustEntryReader"/>. Nothing here looks across documents: conflicts between
/// tenants and files are the compiler's.
/// </summary>
internal static class TenantReader
{
    /// <summary>Reads every document of <paramref name="file"/> into <paramref name="fragments"/>; problems go to <paramref name="errors"/>.</summary>
    public static void Read(PolicyFile file, PolicyLoadOptions options, List<PolicyError> errors, List<TenantFragment> fragments)
    {
        var reader = new YamlPolicyReader(file.RelativePath, errors);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(file.Text));
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
                fragments.Add(ReadTenant(reader, file.Directory, root, options));
            }
        }
    }

    private static TenantFragment ReadTenant(YamlPolicyReader r, string fileDirectory, YamlMappingNode root, PolicyLoadOptions options)
    {
        r.RequireKnownKeys(root, "a policy document", ["tenant", "max_lifetime", "trust", "capabilities", "rules", "admins", "rate_limits", "proof_of_possession", "decision_points", "task_limits", .. CatalogSettingsReader.Keys, .. SharingReader.Keys]);
        var name = r.Scalar(root, "tenant", "a policy document", required: true);
        if (name is not null && !Grammar.IsTenantName(name))
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
                if (TrustEntryReader.ReadSpiffe(r, fileDirectory, node, fragment.Name, options) is { } source)
                {
                    fragment.Spiffe.Add(source);
                }
            }

            foreach (var node in r.Sequence(trust, "oidc", "'trust'"))
            {
                if (TrustEntryReader.ReadOidc(r, node, fragment.Name, options) is { } source)
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
        CatalogSettingsReader.Read(r, root, fragment);
        if (YamlPolicyReader.Get(root, "rate_limits") is { } limitsNode && ReadRateLimits(r, limitsNode) is { } limits)
        {
            fragment.RateLimits = (limits, limitsNode);
        }

        DecisionPointReader.Read(r, root, fragment, options);
        SharingReader.Read(r, root, fragment);

        if (YamlPolicyReader.Get(root, "task_limits") is { } taskLimitsNode && GovernanceReader.ReadTaskLimits(r, taskLimitsNode) is { } taskLimits)
        {
            fragment.TaskLimits = taskLimits;
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

    private static Capability? ReadCapability(YamlPolicyReader r, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, "a capability") is not { } map)
        {
            return null;
        }

        const string What = "a capability";
        r.RequireKnownKeys(map, What, "name", "resource", "audience", "tools", "max_lifetime", "proof_of_possession", "description", "caller");
        var name = r.Scalar(map, "name", What, required: true);
        if (name is not null && !Grammar.IsScopeToken(name))
        {
            r.Error(YamlPolicyReader.Get(map, "name")!, "a capability name must be 1-128 printable ASCII characters without spaces, quotes or backslashes (RFC 6749 scope-token)");
        }

        var resource = r.Scalar(map, "resource", What);
        if (resource is not null && !Grammar.IsResourceUri(resource, options.AllowInsecureLoopbackUrls))
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
            Caller = GovernanceReader.ReadCaller(r, map, What),
        };
    }

    private static PolicyRule? ReadRule(YamlPolicyReader r, YamlNode node)
    {
        if (r.AsMapping(node, "a rule") is not { } map)
        {
            return null;
        }

        const string What = "a rule";
        r.RequireKnownKeys(map, What, "name", "subjects", "claims", "capabilities", "permissions", "purposes", "delegation", "decision_point", "caller");
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
            if (!Grammar.IsTaskContextValue(purpose))
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
            Source = r.File + ":" + map.Start.Line.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Subjects = subjects,
            Claims = ReadClaims(r, map, What),
            Capabilities = capabilities is null || capabilities.Contains("*") ? null : capabilities.ToFrozenSet(StringComparer.Ordinal),
            Permissions = permissions,
            Purposes = purposes?.ToFrozenSet(StringComparer.Ordinal),
            Delegation = delegation,
            DecisionPoint = DecisionPointReader.ReadRuleReference(r, map),
            Caller = GovernanceReader.ReadCaller(r, map, What),
        };
    }

    private static CapabilityPermissions Fail(YamlPolicyReader r, YamlNode node, string message)
    {
        r.Error(node, message);
        return CapabilityPermissions.None;
    }

    /// <summary>A list of subject patterns; each one that does not compile is reported at the list.</summary>
    internal static List<SubjectPattern> ReadPatterns(YamlPolicyReader r, YamlMappingNode map, string key, string what)
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

    /// <summary>A <c>claims:</c> mapping of claim paths to allowed values.</summary>
    internal static List<ClaimCondition> ReadClaims(YamlPolicyReader r, YamlMappingNode map, string what)
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

    internal static void CheckLifetime(YamlPolicyReader r, YamlNode node, TimeSpan lifetime, PolicyLoadOptions options)
    {
        if (lifetime > options.MaxTokenLifetime)
        {
            r.Error(node, $"a lifetime may not exceed {options.MaxTokenLifetime.TotalMinutes:0} minutes");
        }
    }
}
