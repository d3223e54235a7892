// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation;

/// <summary>What kind of principal an identity in a call's chain is, as the broker's policy marked it.</summary>
public enum BrokerPrincipalKind
{
    /// <summary>A workload: a service, an agent, a job.</summary>
    Workload = 0,

    /// <summary>A person, signed in through an identity source the broker's policy marks <c>principal: human</c>.</summary>
    Human = 1,
}

/// <summary>
/// The context that caused a call: the user, agent or service behind it, read from the token's <c>caller</c> claim
/// (one letter per identity, <c>h</c> human or <c>w</c> workload, for <c>sub</c> and then each actor of <c>act</c>,
/// current actor first) with <c>sub</c> and <c>act</c>. What an MCP server's audit line tags each call with
/// (docs/mcp.md, "The caller, and the audit line").
/// </summary>
public sealed class BrokerCallerContext
{
    private BrokerCallerContext(BrokerPrincipalKind? subjectKind, IReadOnlyList<BrokerPrincipalKind> actorKinds, string subject, IReadOnlyList<string> actors)
    {
        SubjectKind = subjectKind;
        ActorKinds = actorKinds;
        if (subjectKind is null)
        {
            return;
        }

        var nearestHuman = actorKinds.ToList().IndexOf(BrokerPrincipalKind.Human);
        User = subjectKind == BrokerPrincipalKind.Human ? subject : nearestHuman >= 0 ? actors[nearestHuman] : null;
        Service = subjectKind == BrokerPrincipalKind.Workload ? subject : null;
        Agent = actorKinds.Count > 0 && actorKinds[0] == BrokerPrincipalKind.Workload ? actors[0] : null;
    }

    /// <summary>The subject's kind; null when the token carries no <c>caller</c> claim (a broker from before it existed).</summary>
    public BrokerPrincipalKind? SubjectKind { get; }

    /// <summary>The actors' kinds, current actor first, as <see cref="BrokerCaller.ActorChain"/>; empty when unknown.</summary>
    public IReadOnlyList<BrokerPrincipalKind> ActorKinds { get; }

    /// <summary>True when the kinds are known (the token has a <c>caller</c> claim).</summary>
    public bool IsKnown => SubjectKind is not null;

    /// <summary>True when the kinds are known and no human is in the chain: a workload acting on its own.</summary>
    public bool IsAutonomous => SubjectKind == BrokerPrincipalKind.Workload && !ActorKinds.Contains(BrokerPrincipalKind.Human);

    /// <summary>The human behind the call: the subject when it is one, else the nearest human actor; null when none.</summary>
    public string? User { get; }

    /// <summary>The workload calling for someone: the current actor, when it is a workload; null without delegation.</summary>
    public string? Agent { get; }

    /// <summary>The workload whose capabilities these are: the subject, when it is a workload.</summary>
    public string? Service { get; }

    /// <summary>
    /// The tag of an audit line: <c>user=… agent=…</c> (an agent acting for a user), <c>user=…</c> (a user's own client),
    /// <c>service=…</c> or <c>service=… agent=…</c> (autonomous), or <c>unknown</c> when the token carries no kinds.
    /// </summary>
    public override string ToString()
    {
        if (!IsKnown)
        {
            return "unknown";
        }

        var parts = new List<string>(3);
        if (User is not null)
        {
            parts.Add("user=" + User);
        }

        if (Service is not null)
        {
            parts.Add("service=" + Service);
        }

        if (Agent is not null)
        {
            parts.Add("agent=" + Agent);
        }

        return string.Join(' ', parts);
    }

    /// <summary>
    /// The context of a token: null when its <c>caller</c> claim is present but not one letter per identity of
    /// <c>sub</c> and <c>act</c> (the token is then refused); unknown kinds when the claim is absent.
    /// </summary>
    internal static BrokerCallerContext? From(string? claim, string subject, IReadOnlyList<string> actors)
    {
        if (claim is null)
        {
            return new BrokerCallerContext(null, [], subject, actors);
        }

        if (claim.Length != actors.Count + 1)
        {
            return null;
        }

        var kinds = new BrokerPrincipalKind[claim.Length];
        for (var i = 0; i < claim.Length; i++)
        {
            switch (claim[i])
            {
                case 'h':
                    kinds[i] = BrokerPrincipalKind.Human;
                    break;
                case 'w':
                    kinds[i] = BrokerPrincipalKind.Workload;
                    break;
                default:
                    return null;
            }
        }

        return new BrokerCallerContext(kinds[0], kinds[1..], subject, actors);
    }
}
