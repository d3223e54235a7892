using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// Finds trust entries of two tenants that could both accept one workload. Such a workload would belong to two
/// tenants, and the evaluator refuses every exchange it makes (<see cref="PolicyDenialReason.AmbiguousTenant"/>): a
/// policy that allows it is a policy error, reported where the second entry is written.
/// </summary>
/// <remarks>
/// Two entries of one source overlap when their <c>subjects</c> can match one identity (an entry without subjects
/// accepts every identity of its source; patterns are compared exactly, wildcards included, see
/// <see cref="SubjectPattern.Overlaps"/>) and their <c>claims</c> can hold together. Claim conditions are told apart
/// only when both name one claim path with no value in common: the claim is taken to have one value, as a
/// namespace or repository claim does. A token that carries such a claim as a list, with values for both tenants,
/// is not caught here; it is refused at exchange.
/// </remarks>
internal static class TenantOverlap
{
    /// <summary>Reports every pair of <paramref name="entries"/> of different tenants that overlaps.</summary>
    /// <param name="source">The source, as messages name it (<c>trust domain 'x'</c>, <c>issuer 'https://…'</c>).</param>
    /// <param name="entries">Every trust entry of the source, in file order.</param>
    public static void Check(string source, IReadOnlyList<(TenantBinding Binding, YamlNode Node, YamlPolicyReader Reader)> entries)
    {
        for (var j = 1; j < entries.Count; j++)
        {
            var (second, node, reader) = entries[j];
            for (var i = 0; i < j; i++)
            {
                var first = entries[i];
                if (first.Binding.Tenant == second.Tenant || !Overlap(first.Binding, second, out var firstPattern, out var secondPattern))
                {
                    continue;
                }

                var claims = first.Binding.Claims.Count + second.Claims.Count > 0 ? ", and no claim condition tells them apart" : "";
                reader.Error(node,
                    $"{source}: tenant '{second.Tenant}' accepts {secondPattern} here and tenant '{first.Binding.Tenant}' accepts {firstPattern} " +
                    $"({first.Reader.File}:{first.Node.Start.Line}){claims}, so one workload could belong to both and none of its exchanges would succeed; " +
                    "narrow 'subjects' or 'claims' until at most one tenant matches");
            }
        }
    }

    private static bool Overlap(TenantBinding first, TenantBinding second, out string firstPattern, out string secondPattern)
    {
        firstPattern = secondPattern = "";
        if (!ClaimCondition.CanHoldTogether(first.Claims, second.Claims))
        {
            return false;
        }

        if (first.Subjects.Count == 0 || second.Subjects.Count == 0)
        {
            firstPattern = Describe(first.Subjects);
            secondPattern = Describe(second.Subjects);
            return true;
        }

        foreach (var a in first.Subjects)
        {
            foreach (var b in second.Subjects)
            {
                if (a.Overlaps(b))
                {
                    firstPattern = $"'{a.Text}'";
                    secondPattern = $"'{b.Text}'";
                    return true;
                }
            }
        }

        return false;
    }

    private static string Describe(IReadOnlyList<SubjectPattern> subjects) =>
        subjects.Count == 0 ? "every identity" : $"'{subjects[0].Text}'" + (subjects.Count > 1 ? $" (and {subjects.Count - 1} more)" : "");
}
