using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>
/// A tenant's limits on one task (<c>task_limits:</c>): capabilities that must not be held together, how many grants a
/// task may have, and how long after its first grant it may still get one. The grant store enforces them atomically
/// with recording the grant (the request alone can break a forbidden combination, which the evaluator refuses first).
/// </summary>
public sealed record TaskLimits
{
    /// <summary>Most entries in <c>forbidden_combinations</c>.</summary>
    public const int MaxCombinations = 64;

    /// <summary>Most capabilities in one combination.</summary>
    public const int MaxCombinationSize = 8;

    /// <summary>Largest <c>max_grants</c>.</summary>
    public const int MaxGrantsCeiling = 100_000;

    /// <summary>Longest <c>max_duration</c>: a week.</summary>
    public static readonly TimeSpan MaxDurationCeiling = TimeSpan.FromDays(7);

    /// <summary>Sets of capability names that no task may hold all at once in unexpired, unrevoked grants.</summary>
    public IReadOnlyList<FrozenSet<string>> ForbiddenCombinations { get; init; } = [];

    /// <summary>Most grants a task may have, revoked and expired ones included; null for no limit.</summary>
    public int? MaxGrants { get; init; }

    /// <summary>No grant for a task once this long has passed since its first grant; null for no limit.</summary>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>
    /// What the rest of a task must not hold for a grant of <paramref name="capabilities"/> to be recorded: for each
    /// forbidden combination the request touches, the capabilities of it the request does not carry. Empty when the
    /// request touches none. A combination the request holds entirely is reported by <paramref name="violatedAlone"/>.
    /// </summary>
    /// <param name="capabilities">The capabilities of the grant to record.</param>
    /// <param name="violatedAlone">True when the request alone holds a whole forbidden combination.</param>
    /// <returns>The remainders, each non-empty, in policy order.</returns>
    public IReadOnlyList<IReadOnlyList<string>> RemaindersFor(IReadOnlyList<string> capabilities, out bool violatedAlone)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        violatedAlone = false;
        List<IReadOnlyList<string>> remainders = [];
        foreach (var combination in ForbiddenCombinations)
        {
            if (!capabilities.Any(combination.Contains))
            {
                continue;
            }

            var rest = combination.Where(c => !capabilities.Contains(c, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToArray();
            if (rest.Length == 0)
            {
                violatedAlone = true;
                return [];
            }

            remainders.Add(rest);
        }

        return remainders;
    }
}
