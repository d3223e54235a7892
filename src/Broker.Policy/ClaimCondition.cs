namespace Broker.Policy;

/// <summary>
/// A claim of the presented token must equal one of the listed values. The claim is named by a path
/// with <c>/</c> between nested object members (<c>kubernetes.io/namespace</c>), so claim names that
/// contain dots need no escaping.
/// </summary>
/// <param name="Path">The claim's path.</param>
/// <param name="AllowedValues">The values that satisfy the condition.</param>
public sealed record ClaimCondition(string Path, IReadOnlyList<string> AllowedValues)
{
    /// <summary>True when the claim is present and one of its values is allowed.</summary>
    /// <param name="claims">The token's claims, flattened by path.</param>
    /// <returns>True when satisfied.</returns>
    public bool IsSatisfiedBy(IReadOnlyDictionary<string, IReadOnlyList<string>> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
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
    /// <param name="conditions">The conditions.</param>
    /// <param name="claims">The token's claims, flattened by path.</param>
    /// <returns>True when all are satisfied.</returns>
    public static bool AllSatisfied(IReadOnlyList<ClaimCondition> conditions, IReadOnlyDictionary<string, IReadOnlyList<string>> claims)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        foreach (var condition in conditions)
        {
            if (!condition.IsSatisfiedBy(claims))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// False when no token can satisfy both sets of conditions: they name one claim path with no value in common.
    /// A claim is taken to have one value here; a token that carries it as a list can still satisfy both (see
    /// <see cref="PolicyDenialReason.AmbiguousTenant"/>).
    /// </summary>
    internal static bool CanHoldTogether(IReadOnlyList<ClaimCondition> first, IReadOnlyList<ClaimCondition> second)
    {
        foreach (var a in first)
        {
            foreach (var b in second)
            {
                if (string.Equals(a.Path, b.Path, StringComparison.Ordinal) && !a.AllowedValues.Intersect(b.AllowedValues, StringComparer.Ordinal).Any())
                {
                    return false;
                }
            }
        }

        return true;
    }
}
