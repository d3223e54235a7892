using System.Collections.Frozen;
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// A tenant's external decision points (<c>decision_points:</c>, OpenID AuthZEN 1.0) and the rules that delegate to
/// them (<c>decision_point:</c>): read per document, then merged per tenant, each name declared once and every rule's
/// reference to one of its own tenant.
/// </summary>
internal static class DecisionPointReader
{
    private const string What = "a decision point";

    /// <summary>Reads the <c>decision_points</c> list of a tenant document.</summary>
    public static void Read(YamlPolicyReader r, YamlMappingNode root, TenantFragment fragment, PolicyLoadOptions options)
    {
        foreach (var node in r.Sequence(root, "decision_points", "a tenant"))
        {
            if (ReadOne(r, node, fragment.Name, options) is { } point)
            {
                fragment.DecisionPoints.Add((point, node));
            }
        }
    }

    /// <summary>The <c>decision_point</c> of a rule: a name, checked against the tenant's declarations by <see cref="Merge"/>.</summary>
    public static string? ReadRuleReference(YamlPolicyReader r, YamlMappingNode rule)
    {
        var name = r.Scalar(rule, "decision_point", "a rule");
        if (name is not null && !IsName(name))
        {
            r.Error(YamlPolicyReader.Get(rule, "decision_point")!, "'decision_point' must name a decision point of the tenant (1-64 characters of a-z 0-9 . _ -)");
            return null;
        }

        return name;
    }

    /// <summary>The tenant's decision points by name; duplicates and dangling rule references are reported.</summary>
    public static FrozenDictionary<string, DecisionPoint> Merge(string tenant, List<TenantFragment> parts)
    {
        var points = new Dictionary<string, (DecisionPoint Point, YamlPolicyReader Reader, YamlNode Node)>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (point, node) in part.DecisionPoints)
            {
                if (points.TryGetValue(point.Name, out var first))
                {
                    part.Reader.Error(node, $"decision point '{point.Name}' is declared twice in tenant '{tenant}' (first in {first.Reader.File}:{first.Node.Start.Line})");
                    continue;
                }

                points[point.Name] = (point, part.Reader, node);
            }
        }

        foreach (var part in parts)
        {
            foreach (var (rule, node) in part.Rules)
            {
                if (rule.DecisionPoint is { } name && !points.ContainsKey(name))
                {
                    // A rule delegates only to its own tenant's decision points: nothing crosses tenants.
                    part.Reader.Error(node, $"rule '{rule.Name}' names decision point '{name}', which tenant '{tenant}' does not declare");
                }
            }
        }

        return points.ToFrozenDictionary(p => p.Key, p => p.Value.Point, StringComparer.Ordinal);
    }

    private static DecisionPoint? ReadOne(YamlPolicyReader r, YamlNode node, string tenant, PolicyLoadOptions options)
    {
        if (r.AsMapping(node, What) is not { } map)
        {
            return null;
        }

        r.RequireKnownKeys(map, What, "name", "url", "bearer_token_secret", "timeout", "cache_ttl");
        var name = r.Scalar(map, "name", What, required: true);
        if (name is not null && !IsName(name))
        {
            r.Error(YamlPolicyReader.Get(map, "name")!, "a decision point's 'name' must be 1-64 characters of a-z 0-9 . _ -");
            name = null;
        }

        var url = CheckUrl(r, map, r.Scalar(map, "url", What, required: true), options);
        var secret = r.Scalar(map, "bearer_token_secret", What);
        if (secret is not null && !IsSecretName(secret))
        {
            r.Error(YamlPolicyReader.Get(map, "bearer_token_secret")!, "'bearer_token_secret' must be a file name in the broker's AuthZEN secrets directory (1-128 characters of A-Z a-z 0-9 . _ -, not starting with a dot), never a path");
            secret = null;
        }

        var timeout = ReadDuration(r, map, "timeout", TimeSpan.FromMilliseconds(10), DecisionPoint.MaxTimeout);
        var cacheFor = ReadDuration(r, map, "cache_ttl", TimeSpan.FromMilliseconds(1), DecisionPoint.MaxCacheFor);
        return name is null || url is null ? null : new DecisionPoint
        {
            Tenant = tenant,
            Name = name,
            EvaluationEndpoint = url,
            BearerTokenSecret = secret,
            Timeout = timeout ?? DecisionPoint.DefaultTimeout,
            CacheFor = cacheFor,
        };
    }

    /// <summary>
    /// The Access Evaluation endpoint: absolute https (http only on loopback, where the process allows it), no user info
    /// (credentials come from the secrets directory, never from the policy), no fragment, on a host the operator allows.
    /// </summary>
    private static Uri? CheckUrl(YamlPolicyReader r, YamlMappingNode map, string? text, PolicyLoadOptions options)
    {
        if (text is null)
        {
            return null;
        }

        var node = YamlPolicyReader.Get(map, "url")!;
        if (text.Length > 2048 || !Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0
            || text.Contains('#', StringComparison.Ordinal))
        {
            r.Error(node, "a decision point's 'url' must be an absolute URL (its Access Evaluation endpoint, e.g. https://pdp.example/access/v1/evaluation) without user info or fragment");
            return null;
        }

        var insecureAllowed = options.AllowInsecureLoopbackUrls && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
        if (uri.Scheme != Uri.UriSchemeHttps && !insecureAllowed)
        {
            r.Error(node, "a decision point's 'url' must use https");
            return null;
        }

        // The operator's allowlist, not the tenant, decides which hosts the broker may be made to POST to: without it any
        // tenant's policy could aim the broker at an internal service (server-side request forgery).
        if (!options.DecisionPointHosts.Allows(uri))
        {
            r.Error(node, options.DecisionPointHosts.IsEmpty
                ? "decision points are disabled: the broker's Broker:AuthZen:AllowedHosts lists no host"
                : $"a decision point's 'url' names host '{uri.Authority}', which is not in the broker's Broker:AuthZen:AllowedHosts");
            return null;
        }

        return uri;
    }

    /// <summary>Durations written <c>250ms</c>, <c>2s</c> or <c>1m</c>, within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    private static TimeSpan? ReadDuration(YamlPolicyReader r, YamlMappingNode map, string key, TimeSpan min, TimeSpan max)
    {
        var text = r.Scalar(map, key, What);
        if (text is null)
        {
            return null;
        }

        var (digits, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], TimeSpan.FromMilliseconds(1))
            : text.EndsWith('s') ? (text[..^1], TimeSpan.FromSeconds(1))
            : text.EndsWith('m') ? (text[..^1], TimeSpan.FromMinutes(1))
            : (null, TimeSpan.Zero);
        if (digits is null || digits.Length is 0 or > 7
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || unit * amount < min || unit * amount > max)
        {
            r.Error(YamlPolicyReader.Get(map, key)!, $"'{key}' in {What} must be a duration such as 250ms, 2s or 1m, from {Describe(min)} to {Describe(max)}");
            return null;
        }

        return unit * amount;
    }

    private static string Describe(TimeSpan value) =>
        value < TimeSpan.FromSeconds(1) ? $"{value.TotalMilliseconds:0}ms" : value < TimeSpan.FromMinutes(1) ? $"{value.TotalSeconds:0}s" : $"{value.TotalMinutes:0}m";

    private static bool IsName(string value) =>
        value.Length is >= 1 and <= 64 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-');

    private static bool IsSecretName(string value) =>
        value.Length is >= 1 and <= 128 && value[0] != '.'
        && value.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-');
}
