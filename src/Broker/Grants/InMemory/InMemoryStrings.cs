using Broker.Audit;
using CommunityToolkit.HighPerformance.Buffers;

namespace Broker.Grants.InMemory;

/// <summary>
/// One instance of each repeated string (tenant, subject, audience, purpose, policy version, capability lists...) for
/// the records and audit events the in-memory store keeps, as the Redis store keeps them once per dictionary. Every
/// exchange parses these afresh, so without it each kept grant holds its own copies: several objects more per grant
/// that every garbage collection of the young generation copies while the grant is new, which at thousands of grants a
/// second shows as pauses in the tail latency. Bounded: strings go through a <see cref="StringPool"/> of about
/// <see cref="Capacity"/> (in shards, each making room by evicting its least recently used, so values that never
/// repeat, such as task IDs that are UUIDs, pass through without crowding out those that do); strings longer than
/// <see cref="MaxLength"/> are kept as they are. Lists (capabilities, delegation chains) of at most
/// <see cref="MaxLength"/> characters in all are shared through a table of at most <see cref="Capacity"/>, emptied when
/// full (a caller sending ever new permutations of a scope cannot pin it), and kept as copies no caller holds. Not
/// thread-safe: the store calls it under its lock.
/// </summary>
internal sealed class InMemoryStrings
{
    public const int Capacity = 16_384;
    public const int MaxLength = 512;

    private readonly StringPool _strings = new(Capacity);
    private readonly Dictionary<IReadOnlyList<string>, IReadOnlyList<string>> _lists = new(SequenceComparer.Instance);

    /// <summary>How many distinct lists are shared now.</summary>
    public int ListCount => _lists.Count;

    public string Intern(string value) => value.Length <= MaxLength ? _strings.GetOrAdd(value) : value;

    public string? InternOptional(string? value) => value is null ? null : Intern(value);

    /// <summary>One list per distinct sequence of strings: a copy, so that a caller changing its own list later changes nothing kept.</summary>
    public IReadOnlyList<string> Intern(IReadOnlyList<string> values)
    {
        if (values.Count == 0)
        {
            return [];
        }

        if (_lists.TryGetValue(values, out var known))
        {
            return known;
        }

        var copy = new string[values.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Intern(values[i]);
        }

        if (copy.Sum(value => value.Length) <= MaxLength)
        {
            if (_lists.Count >= Capacity)
            {
                _lists.Clear();
            }

            _lists.Add(copy, copy);
        }

        return copy;
    }

    /// <summary>The grant as it is kept: its strings and lists shared with the grants before it.</summary>
    public GrantRecord Intern(GrantRecord grant) => grant with
    {
        Tenant = Intern(grant.Tenant),
        Subject = Intern(grant.Subject),
        ClientId = Intern(grant.ClientId),
        ActorChain = Intern(grant.ActorChain),
        Capabilities = Intern(grant.Capabilities),
        Audience = Intern(grant.Audience),
        TaskId = Intern(grant.TaskId),
        Purpose = Intern(grant.Purpose),
        PolicyVersion = Intern(grant.PolicyVersion),
        ConsumerTenant = InternOptional(grant.ConsumerTenant),
    };

    /// <summary>The event as it is kept: its strings and lists shared with the events and grants before it.</summary>
    public AuditEvent Intern(AuditEvent auditEvent) => auditEvent with
    {
        Tenant = InternOptional(auditEvent.Tenant),
        ConsumerTenant = InternOptional(auditEvent.ConsumerTenant),
        Subject = InternOptional(auditEvent.Subject),
        ActorChain = Intern(auditEvent.ActorChain),
        RequestedCapabilities = Intern(auditEvent.RequestedCapabilities),
        GrantedCapabilities = Intern(auditEvent.GrantedCapabilities),
        Audience = InternOptional(auditEvent.Audience),
        TaskId = InternOptional(auditEvent.TaskId),
        Purpose = InternOptional(auditEvent.Purpose),
        PolicyVersion = InternOptional(auditEvent.PolicyVersion),
        ClientAddress = InternOptional(auditEvent.ClientAddress),
        SubjectTokenSha256 = InternOptional(auditEvent.SubjectTokenSha256),
        Actor = InternOptional(auditEvent.Actor),
        KeyId = InternOptional(auditEvent.KeyId),
    };

    private sealed class SequenceComparer : IEqualityComparer<IReadOnlyList<string>>
    {
        public static readonly SequenceComparer Instance = new();

        public bool Equals(IReadOnlyList<string>? x, IReadOnlyList<string>? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null || x.Count != y.Count)
            {
                return false;
            }

            for (var i = 0; i < x.Count; i++)
            {
                if (!string.Equals(x[i], y[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(IReadOnlyList<string> values)
        {
            var hash = new HashCode();
            foreach (var value in values)
            {
                hash.Add(value, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
