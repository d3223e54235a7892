namespace Broker.Policy;

/// <summary>
/// What kind of principal an identity is. Policy marks it per OIDC trust entry (<c>principal: human</c>); every other
/// identity (SPIFFE, an OIDC entry without the mark) is a workload.
/// </summary>
public enum PrincipalKind
{
    /// <summary>A workload: a service, an agent, a job. The default, and what every SPIFFE identity is.</summary>
    Workload = 0,

    /// <summary>A person, signed in through an OIDC trust entry marked <c>principal: human</c>.</summary>
    Human = 1,
}

/// <summary>
/// The kinds of the identities in the chain that caused a request: the subject's, then each actor's, the current
/// actor first (the order of <see cref="PolicyDecision.Allowed.ActorChain"/>). Carried in the capability token as the
/// <c>caller</c> claim, one letter per identity (<c>h</c> human, <c>w</c> workload): <c>"hw"</c> is a user's token
/// exchanged by an agent, <c>"w"</c> a workload calling for itself.
/// </summary>
public sealed record CallerKinds
{
    /// <summary>The longest chain written: the subject and at most eight actors (delegation's <c>max_depth</c>).</summary>
    public const int MaxLength = 9;

    /// <summary>A workload calling for itself.</summary>
    public static CallerKinds Workload { get; } = new(PrincipalKind.Workload, []);

    /// <summary>The kinds.</summary>
    /// <param name="subject">The subject's kind.</param>
    /// <param name="actors">The actors' kinds, current actor first.</param>
    public CallerKinds(PrincipalKind subject, IReadOnlyList<PrincipalKind> actors)
    {
        ArgumentNullException.ThrowIfNull(actors);
        Subject = subject;
        Actors = actors;
    }

    /// <summary>The subject's kind: whose capabilities these are.</summary>
    public PrincipalKind Subject { get; }

    /// <summary>The actors' kinds, current actor first; empty without delegation.</summary>
    public IReadOnlyList<PrincipalKind> Actors { get; }

    /// <summary>True when no human is anywhere in the chain: a workload acting on its own, however many workloads act for it.</summary>
    public bool IsAutonomous => Subject != PrincipalKind.Human && !Actors.Contains(PrincipalKind.Human);

    /// <summary>The chain with a new current actor in front of the existing ones.</summary>
    /// <param name="actor">The kind of the actor of this request.</param>
    /// <returns>The longer chain.</returns>
    public CallerKinds WithActor(PrincipalKind actor) => new(Subject, [actor, .. Actors]);

    /// <summary>The claim value: one letter per identity, subject first.</summary>
    /// <returns>For example <c>hw</c>.</returns>
    public override string ToString() => string.Create(1 + Actors.Count, this, static (span, kinds) =>
    {
        span[0] = Letter(kinds.Subject);
        for (var i = 0; i < kinds.Actors.Count; i++)
        {
            span[i + 1] = Letter(kinds.Actors[i]);
        }
    });

    /// <summary>Reads a claim value written by <see cref="ToString"/>.</summary>
    /// <param name="text">The claim value.</param>
    /// <param name="kinds">The kinds, or null when the text is not a claim value.</param>
    /// <returns>True when <paramref name="text"/> is 1 to <see cref="MaxLength"/> letters <c>h</c> or <c>w</c>.</returns>
    public static bool TryParse(string? text, out CallerKinds? kinds)
    {
        kinds = null;
        if (text is not { Length: > 0 and <= MaxLength })
        {
            return false;
        }

        var all = new PrincipalKind[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case 'h':
                    all[i] = PrincipalKind.Human;
                    break;
                case 'w':
                    all[i] = PrincipalKind.Workload;
                    break;
                default:
                    return false;
            }
        }

        kinds = new CallerKinds(all[0], all[1..]);
        return true;
    }

    private static char Letter(PrincipalKind kind) => kind == PrincipalKind.Human ? 'h' : 'w';
}
