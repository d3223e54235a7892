using System.Collections.Frozen;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// Reads the governance keys of a policy (docs/policy.md, "Approval paths" and "Task limits"): the caller conditions of
/// a capability or rule (<c>caller:</c>), the kind of principal an OIDC trust entry's identities are
/// (<c>principal:</c>) and a tenant's limits on one task (<c>task_limits:</c>). Names in a forbidden combination are
/// checked against the tenant's capabilities by <see cref="CheckTaskLimits"/> once every document of the tenant is read.
/// </summary>
internal static class GovernanceReader
{
    /// <summary>The keys of a <c>caller:</c> mapping.</summary>
    private static readonly string[] CallerKeys = ["principal", "autonomous", "max_actors", "actor_kinds", "require_purpose"];

    /// <summary>The <c>caller:</c> conditions of <paramref name="map"/> (a capability or a rule), or null when it has none.</summary>
    public static CallerConditions? ReadCaller(YamlPolicyReader r, YamlMappingNode map, string what)
    {
        if (YamlPolicyReader.Get(map, "caller") is not { } node || r.AsMapping(node, $"'caller' in {what}") is not { } caller)
        {
            return null;
        }

        var where = $"'caller' in {what}";
        r.RequireKnownKeys(caller, where, CallerKeys);
        if (caller.Children.Count == 0)
        {
            r.Error(caller, $"{where} needs at least one of: {string.Join(", ", CallerKeys)}");
        }

        PrincipalKind? principal = r.Scalar(caller, "principal", where) is { } text ? ReadKind(r, YamlPolicyReader.Get(caller, "principal")!, text, "principal") : null;
        HashSet<PrincipalKind>? actorKinds = null;
        if (r.ScalarList(caller, "actor_kinds", where) is { } kinds)
        {
            actorKinds = [];
            foreach (var kind in kinds)
            {
                if (ReadKind(r, YamlPolicyReader.Get(caller, "actor_kinds")!, kind, "actor_kinds") is { } k)
                {
                    actorKinds.Add(k);
                }
            }

            if (kinds.Count == 0)
            {
                r.Error(YamlPolicyReader.Get(caller, "actor_kinds")!, $"'actor_kinds' in {where} needs at least one of human, workload; write max_actors: 0 to refuse every actor");
            }
        }

        var conditions = new CallerConditions
        {
            Principal = principal,
            AllowAutonomous = r.Boolean(caller, "autonomous", where) ?? true,
            MaxActors = r.Integer(caller, "max_actors", where, 0, 8),
            ActorKinds = actorKinds?.ToFrozenSet(),
            RequirePurpose = r.Boolean(caller, "require_purpose", where) ?? false,
        };

        // Conditions no chain can meet are a mistake, not a policy: refuse them rather than a capability nobody can get.
        var noHumanActor = conditions.MaxActors == 0 || (conditions.ActorKinds is { } allowed && !allowed.Contains(PrincipalKind.Human));
        if (!conditions.AllowAutonomous && conditions.Principal == PrincipalKind.Workload && noHumanActor)
        {
            r.Error(caller, $"{where} can never be met: a workload principal with no human actor is autonomous, which 'autonomous: false' refuses");
        }

        return conditions;
    }

    /// <summary>The <c>principal:</c> of an OIDC trust entry; <see cref="PrincipalKind.Workload"/> when absent.</summary>
    public static PrincipalKind ReadPrincipal(YamlPolicyReader r, YamlMappingNode map, string what) =>
        r.Scalar(map, "principal", what) is { } text ? ReadKind(r, YamlPolicyReader.Get(map, "principal")!, text, "principal") ?? PrincipalKind.Workload : PrincipalKind.Workload;

    /// <summary>A tenant's <c>task_limits:</c>; null when it is not a mapping.</summary>
    public static TaskLimitsFragment? ReadTaskLimits(YamlPolicyReader r, YamlNode node)
    {
        const string What = "'task_limits'";
        if (r.AsMapping(node, What) is not { } map)
        {
            return null;
        }

        r.RequireKnownKeys(map, What, "forbidden_combinations", "max_grants", "max_duration");
        if (map.Children.Count == 0)
        {
            r.Error(map, $"{What} needs at least one of: forbidden_combinations, max_grants, max_duration");
        }

        var maxDuration = r.Duration(map, "max_duration", What);
        if (maxDuration > TaskLimits.MaxDurationCeiling)
        {
            r.Error(YamlPolicyReader.Get(map, "max_duration")!, $"'max_duration' in {What} may not exceed {TaskLimits.MaxDurationCeiling.TotalHours:0}h");
            maxDuration = null;
        }

        var combinations = new List<(IReadOnlyList<string> Names, YamlNode Node)>();
        var items = r.Sequence(map, "forbidden_combinations", What).ToList();
        if (items.Count > TaskLimits.MaxCombinations)
        {
            r.Error(YamlPolicyReader.Get(map, "forbidden_combinations")!, $"'forbidden_combinations' in {What} may hold at most {TaskLimits.MaxCombinations} entries");
        }

        foreach (var item in items.Take(TaskLimits.MaxCombinations))
        {
            if (ReadCombination(r, item) is { } names)
            {
                combinations.Add((names, item));
            }
        }

        var limits = new TaskLimits
        {
            ForbiddenCombinations = [.. combinations.Select(c => c.Names.ToFrozenSet(StringComparer.Ordinal))],
            MaxGrants = r.Integer(map, "max_grants", What, 1, TaskLimits.MaxGrantsCeiling),
            MaxDuration = maxDuration,
        };
        return new TaskLimitsFragment(limits, node, combinations);
    }

    /// <summary>
    /// Every capability a forbidden combination names must be one the tenant declares: a misspelt name would silently
    /// leave the combination unenforceable.
    /// </summary>
    public static void CheckTaskLimits(YamlPolicyReader r, string tenant, TaskLimitsFragment limits, IReadOnlyDictionary<string, Capability> capabilities)
    {
        foreach (var (names, node) in limits.Combinations)
        {
            foreach (var name in names.Where(n => !capabilities.ContainsKey(n)))
            {
                r.Error(node, $"forbidden combination names capability '{name}', which tenant '{tenant}' does not declare");
            }
        }
    }

    /// <summary>One entry of <c>forbidden_combinations</c>: 2 to 8 distinct capability names.</summary>
    private static List<string>? ReadCombination(YamlPolicyReader r, YamlNode node)
    {
        if (node is not YamlSequenceNode sequence)
        {
            r.Error(node, "a forbidden combination must be a list of capability names, such as [crm.read_all, email.send_external]");
            return null;
        }

        var names = new List<string>(sequence.Children.Count);
        foreach (var item in sequence.Children)
        {
            if (item is not YamlScalarNode { Value: { Length: > 0 } name })
            {
                r.Error(item, "a forbidden combination must contain only capability names");
                return null;
            }

            if (!Grammar.IsScopeToken(name) || name == "*")
            {
                r.Error(item, $"'{name}' is not a capability name; a forbidden combination names capabilities one by one");
                return null;
            }

            if (names.Contains(name, StringComparer.Ordinal))
            {
                r.Error(item, $"capability '{name}' appears twice in one forbidden combination");
                return null;
            }

            names.Add(name);
        }

        if (names.Count is < 2 or > TaskLimits.MaxCombinationSize)
        {
            r.Error(node, $"a forbidden combination names 2 to {TaskLimits.MaxCombinationSize} capabilities");
            return null;
        }

        return names;
    }

    private static PrincipalKind? ReadKind(YamlPolicyReader r, YamlNode node, string text, string key)
    {
        switch (text)
        {
            case "human":
                return PrincipalKind.Human;
            case "workload":
                return PrincipalKind.Workload;
            default:
                r.Error(node, $"unknown kind '{text}' in '{key}'; expected human or workload");
                return null;
        }
    }
}

/// <summary>A tenant's <c>task_limits:</c> as read, with the node of each forbidden combination for later checks.</summary>
internal sealed record TaskLimitsFragment(TaskLimits Value, YamlNode Node, IReadOnlyList<(IReadOnlyList<string> Names, YamlNode Node)> Combinations);
