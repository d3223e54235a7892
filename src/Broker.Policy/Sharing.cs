using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>
/// What an owning tenant offers another (<c>shares:</c>): one of its capabilities, the permissions the consumer's
/// workloads may get at most, and, optionally, which of the consumer's identities.
/// </summary>
/// <param name="Owner">The tenant that declares the capability.</param>
/// <param name="Consumer">The tenant it is shared with.</param>
/// <param name="Capability">The owner's capability name.</param>
/// <param name="Permissions">At most <see cref="CapabilityPermissions.Discover"/> and <see cref="CapabilityPermissions.Execute"/>.</param>
/// <param name="Subjects">The consumer identities the share is for; empty: any of the consumer's.</param>
/// <param name="Location">Where the entry is written (<c>file:line</c>), for <c>brokerctl policy check</c>.</param>
public sealed record CapabilityShare(
    string Owner,
    string Consumer,
    string Capability,
    CapabilityPermissions Permissions,
    IReadOnlyList<SubjectPattern> Subjects,
    string Location)
{
    /// <summary>True when the share is for <paramref name="subject"/>: no subject patterns, or one that matches it.</summary>
    /// <param name="subject">A validated identity of the consumer tenant.</param>
    /// <returns>True when the share covers it.</returns>
    public bool AllowsSubject(WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (Subjects.Count == 0)
        {
            return true;
        }

        foreach (var pattern in Subjects)
        {
            if (pattern.Matches(subject.Kind, subject.Source, subject.Id, SourceMatching.AnySource))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>What a consuming tenant takes in (<c>accepts:</c>): one capability another tenant shares.</summary>
/// <param name="Consumer">The accepting tenant.</param>
/// <param name="Owner">The tenant that declares the capability.</param>
/// <param name="Capability">The owner's capability name.</param>
/// <param name="Location">Where the entry is written (<c>file:line</c>).</param>
public sealed record ShareAcceptance(string Consumer, string Owner, string Capability, string Location);

/// <summary>
/// Sharing across tenants, compiled: every share and acceptance, and the ones in force, where both sides agree. Nothing
/// crosses a tenant boundary without both: a one-sided entry is kept only to be reported (<see cref="OneSidedShares"/>,
/// <see cref="OneSidedAcceptances"/>).
/// </summary>
public sealed class TenantSharing
{
    private readonly FrozenDictionary<(string Consumer, string Owner, string Capability), CapabilityShare> _active;
    private readonly FrozenDictionary<string, CapabilityShare[]> _byConsumer;

    /// <summary>Builds the sharing of a policy from both sides' entries.</summary>
    /// <param name="shares">Every <c>shares:</c> entry, one per (capability, consumer).</param>
    /// <param name="acceptances">Every <c>accepts:</c> entry, one per (owner, capability).</param>
    public TenantSharing(IReadOnlyList<CapabilityShare> shares, IReadOnlyList<ShareAcceptance> acceptances)
    {
        ArgumentNullException.ThrowIfNull(shares);
        ArgumentNullException.ThrowIfNull(acceptances);
        Shares = shares;
        Acceptances = acceptances;
        var accepted = acceptances.Select(a => (a.Consumer, a.Owner, a.Capability)).ToHashSet();
        var offered = shares.Select(s => (s.Consumer, s.Owner, s.Capability)).ToHashSet();
        var active = shares.Where(s => accepted.Contains((s.Consumer, s.Owner, s.Capability))).ToList();
        _active = active.ToFrozenDictionary(s => (s.Consumer, s.Owner, s.Capability));
        _byConsumer = active.GroupBy(s => s.Consumer, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        Active = active;
        OneSidedShares = [.. shares.Where(s => !accepted.Contains((s.Consumer, s.Owner, s.Capability)))];
        OneSidedAcceptances = [.. acceptances.Where(a => !offered.Contains((a.Consumer, a.Owner, a.Capability)))];
    }

    /// <summary>No sharing at all (the default: nothing crosses tenants).</summary>
    public static TenantSharing None { get; } = new([], []);

    /// <summary>Every <c>shares:</c> entry, per consumer, in file order.</summary>
    public IReadOnlyList<CapabilityShare> Shares { get; }

    /// <summary>Every <c>accepts:</c> entry, per capability, in file order.</summary>
    public IReadOnlyList<ShareAcceptance> Acceptances { get; }

    /// <summary>The shares in force: offered by the owner and accepted by the consumer.</summary>
    public IReadOnlyList<CapabilityShare> Active { get; }

    /// <summary>Shares no consumer accepted: nothing crosses.</summary>
    public IReadOnlyList<CapabilityShare> OneSidedShares { get; }

    /// <summary>Acceptances of what the owner does not share: nothing crosses.</summary>
    public IReadOnlyList<ShareAcceptance> OneSidedAcceptances { get; }

    /// <summary>The share in force of <paramref name="owner"/>'s <paramref name="capability"/> with <paramref name="consumer"/>, or null.</summary>
    /// <param name="consumer">The consuming tenant.</param>
    /// <param name="owner">The owning tenant.</param>
    /// <param name="capability">The owner's capability name.</param>
    /// <returns>The share, or null when the two do not both agree.</returns>
    public CapabilityShare? Find(string consumer, string owner, string capability) =>
        _active.TryGetValue((consumer, owner, capability), out var share) ? share : null;

    /// <summary>The shares in force whose consumer is <paramref name="consumer"/>.</summary>
    /// <param name="consumer">The consuming tenant.</param>
    /// <returns>The shares, in file order.</returns>
    public IReadOnlyList<CapabilityShare> ForConsumer(string consumer) =>
        _byConsumer.TryGetValue(consumer, out var shares) ? shares : [];

    /// <summary>
    /// The name a consumer's rules give a capability it accepts: <c>owner:capability</c>. A tenant name has no
    /// <c>:</c>, so the owner is never ambiguous, and the loader refuses a consumer's own capability of that name.
    /// </summary>
    /// <param name="owner">The owning tenant.</param>
    /// <param name="capability">The owner's capability name.</param>
    /// <returns>The qualified name.</returns>
    public static string QualifiedName(string owner, string capability) => owner + ":" + capability;

    /// <summary>
    /// The owning tenant of the target of an exchange by a workload of <paramref name="consumer"/>, when a share in force
    /// lives on it: the RFC 8707 resource (or audience) a capability is declared on belongs to one tenant, so it names
    /// the owner without ambiguity and the scope keeps the owner's capability names. Null when no share in force has a
    /// capability on that target.
    /// </summary>
    /// <param name="policy">The policy in force.</param>
    /// <param name="consumer">The caller's own tenant.</param>
    /// <param name="resource">The requested resource, or null.</param>
    /// <param name="audience">The requested audience, or null.</param>
    /// <returns>The owning tenant, or null.</returns>
    public TenantPolicy? OwnerOfTarget(PolicySet policy, string consumer, string? resource, string? audience)
    {
        ArgumentNullException.ThrowIfNull(policy);
        foreach (var share in ForConsumer(consumer))
        {
            if (!policy.Tenants.TryGetValue(share.Owner, out var owner) || !owner.Capabilities.TryGetValue(share.Capability, out var capability))
            {
                continue;
            }

            if ((resource is not null && string.Equals(capability.Resource, resource, StringComparison.Ordinal))
                || (resource is null && audience is not null
                    && (string.Equals(capability.Audience, audience, StringComparison.Ordinal) || string.Equals(capability.Resource, audience, StringComparison.Ordinal))))
            {
                return owner;
            }
        }

        return null;
    }
}
