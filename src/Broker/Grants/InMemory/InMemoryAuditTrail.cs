using Broker.Audit;

namespace Broker.Grants.InMemory;

/// <summary>
/// The in-memory store's audit trail: the tenants' events in one stream, capped by <see cref="GrantsOptions.AuditMaxLength"/>
/// overall, and the events with no tenant in another, capped by <see cref="GrantsOptions.GlobalAuditMaxLength"/>; both
/// by <see cref="GrantsOptions.AuditRetention"/> too. Not thread-safe: the store calls it under its lock.
/// </summary>
internal sealed class InMemoryAuditTrail(GrantsOptions options)
{
    private readonly AuditRing _tenants = new(options.AuditMaxLength);
    private readonly AuditRing _global = new(options.GlobalAuditMaxLength);
    private long _sequence;

    /// <summary>The events retained, tenants' and global, in the order they were appended.</summary>
    public IReadOnlyCollection<AuditEvent> All => [.. _tenants.OldestFirst().Concat(_global.OldestFirst()).OrderBy(e => e.Sequence).Select(e => e.Event)];

    public void Append(AuditEvent auditEvent, DateTimeOffset now)
    {
        (string.IsNullOrEmpty(auditEvent.Tenant) ? _global : _tenants).Add(++_sequence, auditEvent);
        Trim(now);
    }

    /// <summary>The most recent events of <paramref name="tenant"/>, newest first; null or empty: the global ones.</summary>
    public List<AuditEvent> Read(string? tenant, int count, DateTimeOffset now)
    {
        Trim(now);
        List<AuditEvent> events = [];
        var global = string.IsNullOrEmpty(tenant);
        foreach (var (_, auditEvent) in (global ? _global : _tenants).NewestFirst())
        {
            if (events.Count >= count)
            {
                break;
            }

            // Null and "" both name the global stream, as in Redis.
            if (global || string.Equals(auditEvent.Tenant, tenant, StringComparison.Ordinal))
            {
                events.Add(auditEvent);
            }
        }

        return events;
    }

    private void Trim(DateTimeOffset now)
    {
        var oldest = now - options.AuditRetention;
        _tenants.RemoveOlderThan(oldest);
        _global.RemoveOlderThan(oldest);
    }

    /// <summary>
    /// A stream capped by count, kept in one array used as a ring (grown by doubling up to the cap): at thousands of
    /// events a second a linked list's node per event is one more object for each garbage collection to copy.
    /// </summary>
    private sealed class AuditRing
    {
        private readonly int _maxLength;
        private (long Sequence, AuditEvent Event)[] _items = [];
        private int _start;
        private int _count;

        public AuditRing(int maxLength)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
            _maxLength = maxLength;
        }

        public void Add(long sequence, AuditEvent auditEvent)
        {
            if (_count == _maxLength)
            {
                // Full: the oldest makes room.
                _items[_start] = default;
                _start = (_start + 1) % _items.Length;
                _count--;
            }
            else if (_count == _items.Length)
            {
                Grow();
            }

            _items[(_start + _count) % _items.Length] = (sequence, auditEvent);
            _count++;
        }

        public void RemoveOlderThan(DateTimeOffset oldest)
        {
            while (_count > 0 && _items[_start].Event.Time < oldest)
            {
                _items[_start] = default;
                _start = (_start + 1) % _items.Length;
                _count--;
            }
        }

        public IEnumerable<(long Sequence, AuditEvent Event)> OldestFirst()
        {
            for (var i = 0; i < _count; i++)
            {
                yield return _items[(_start + i) % _items.Length];
            }
        }

        public IEnumerable<(long Sequence, AuditEvent Event)> NewestFirst()
        {
            for (var i = _count - 1; i >= 0; i--)
            {
                yield return _items[(_start + i) % _items.Length];
            }
        }

        private void Grow()
        {
            var grown = new (long, AuditEvent)[Math.Min(_maxLength, Math.Max(16, _items.Length * 2))];
            for (var i = 0; i < _count; i++)
            {
                grown[i] = _items[(_start + i) % _items.Length];
            }

            _items = grown;
            _start = 0;
        }
    }
}
