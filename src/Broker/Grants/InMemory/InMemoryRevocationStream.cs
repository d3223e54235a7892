namespace Broker.Grants.InMemory;

/// <summary>
/// The in-memory store's revocation streams, one per tenant, trimmed as Redis trims them (by length, and by age but
/// never the newest entry). Positions are made from the clock as Redis makes stream IDs, in one sequence for every
/// tenant, starting after the time the store was created: a feed client that resumes with a position from before a
/// restart reads everything since and is told that what came before is gone. Not thread-safe: the store calls it
/// under its lock.
/// </summary>
internal sealed class InMemoryRevocationStream
{
    private readonly GrantsOptions _options;
    private readonly Dictionary<string, List<RevocationEntry>> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StreamPosition> _trimmedUpTo = new(StringComparer.Ordinal);
    private readonly StreamPosition _first;

    public InMemoryRevocationStream(GrantsOptions options, DateTimeOffset createdAt)
    {
        _options = options;
        _first = new StreamPosition((ulong)Math.Max(0, createdAt.ToUnixTimeMilliseconds()), 0);
        Position = _first;
    }

    /// <summary>The position of the last entry appended, of any tenant (reading after it skips other tenants' too).</summary>
    public StreamPosition Position { get; private set; }

    /// <summary>Appends the revocation of <paramref name="grant"/> to its tenant's stream.</summary>
    public RevocationEntry Append(GrantRecord grant, DateTimeOffset now)
    {
        Position = Position.Next(now.ToUnixTimeMilliseconds());
        var entry = new RevocationEntry(Position, grant.Id, grant.Tenant, now) { ExpiresAt = grant.ExpiresAt };
        if (!_entries.TryGetValue(grant.Tenant, out var entries))
        {
            _entries[grant.Tenant] = entries = [];
        }

        entries.Add(entry);
        Trim(grant.Tenant, now);
        return entry;
    }

    /// <summary>Appends the withdrawal of a capability to <paramref name="tenant"/>'s stream.</summary>
    public RevocationEntry AppendWithdrawal(string tenant, CapabilityWithdrawal withdrawal, DateTimeOffset keepUntil, DateTimeOffset now)
    {
        Position = Position.Next(now.ToUnixTimeMilliseconds());
        var entry = RevocationEntry.Withdrawn(Position, tenant, withdrawal, now, keepUntil);
        if (!_entries.TryGetValue(tenant, out var entries))
        {
            _entries[tenant] = entries = [];
        }

        entries.Add(entry);
        Trim(tenant, now);
        return entry;
    }

    /// <summary>See <see cref="IGrantStore.ReadRevocationsAsync"/>.</summary>
    public RevocationPage Read(string tenant, StreamPosition? afterPosition, int count, DateTimeOffset now)
    {
        var after = afterPosition ?? StreamPosition.Start;
        Trim(tenant, now);
        var lost = afterPosition is not null
            && (after < _first || (_trimmedUpTo.TryGetValue(tenant, out var trimmed) && after < trimmed));
        if (!_entries.TryGetValue(tenant, out var entries))
        {
            return new RevocationPage([], afterPosition, lost);
        }

        var page = entries.Where(e => e.Position > after).Take(count).ToList();
        return new RevocationPage(page, page.Count > 0 ? page[^1].Position : afterPosition, lost);
    }

    private void Trim(string tenant, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(tenant, out var entries))
        {
            return;
        }

        var oldest = now - _options.RevocationStreamRetention;
        var remove = 0;
        // By age, never the newest entry (as in Redis): a caught-up reader keeps its place through a quiet period.
        while (remove < entries.Count
            && (entries.Count - remove > _options.RevocationStreamMaxLength
                || (entries[remove].RevokedAt < oldest && remove < entries.Count - 1)))
        {
            remove++;
        }

        if (remove > 0)
        {
            _trimmedUpTo[tenant] = entries[remove - 1].Position;
            entries.RemoveRange(0, remove);
        }
    }
}
