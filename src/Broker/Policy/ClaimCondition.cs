namespace Broker.Policy;

/// <summary>
/// A claim of the presented token must equal one of the listed values. The claim is named by a path
/// with <c>/</c> between nested object members (<c>kubernetes.io/namespace</c>), so claim names that
/// contain dots need no escaping.
/// </summary>
public sealed record ClaimCondition(string Path, IReadOnlyList<string> AllowedValues)
{
    /// <summary>True when the claim is present and one of its values is allowed.</summary>
    public bool IsSatisfiedBy(IReadOnlyDictionary<string, IReadOnlyList<string>> claims)
    {
        if (!claims.TryGetValue(Path, out var values))
        {
            return false;
        }

        foreach (var value in values)
        {
            foreach (var allowed in AllowedValues)
            {
                if (string.Equals(value, allowed, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>True when every condition holds (and so when there are none).</summary>
    public static bool AllSatisfied(IReadOnlyList<ClaimCondition> conditions, IReadOnlyDictionary<string, IReadOnlyList<string>> claims)
    {
        foreach (var condition in conditions)
        {
            if (!condition.IsSatisfiedBy(claims))
            {
                return false;
            }
        }

        return true;
    }
}
