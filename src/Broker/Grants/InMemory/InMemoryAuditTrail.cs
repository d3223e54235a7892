using Broker.Audit;

namespace Broker.Grants.InMemory;

/// <summary>
/// The in-memory store's audit trail: the tenants' events in one list, capped by <see cref="GrantsOptions.AuditMaxLength"/>
/// overall, and the events with no tenant in another, capped by <see cref="GrantsOptions.GlobalAuditMaxLength"/>; both
/// by <see cref="GrantsOptions.AuditRetention"/> too. Not thread-safe: the store calls it under its lock.
/// </summary>
internal sealed class InMemoryAuditTrail(GrantsOptions options)
{
    private readonly LinkedList<(long Sequence, AuditEvent Event)> _tenants = new();
    private readonly LinkedList<(long Sequence, AuditEvent Event)> _global = new();
    private long _sequence;

    /// <summary>The events retained, tenants' and global, in the order they were appended.</summary>
    public IReadOnlyCollection<AuditEvent> All => [.. _tenants.Concat(_global).OrderBy(e => e.Sequence).Select(e => e.Event)];

    public void Append(AuditEvent auditEvent, DateTimeOffset now)
    {
        (string.IsNullOrEmpty(auditEvent.Tenant) ? _global : _tenants).AddLast((++_sequence, auditEvent));
        Trim(now);
    }

    /// <summary>The most recent events of <paramref name="tenant"/>, newest first; null or empty: the global ones.</summary>
    public List<AuditEvent> Read(string? tenant, int count, DateTimeOffset now)
    {
        Trim(now);
        List<AuditEvent> events = [];
        var global = string.IsNullOrEmpty(tenant);
        for (var node = (global ? _global : _tenants).Last; node is not null && events.Count < count; node = node.Previous)
        {
            // Null and "" both name the global stream, as in Redis.
            if (global || string.Equals(node.Value.Event.Tenant, tenant, StringComparison.Ordinal))
            {
                events.Add(node.Value.Event);
            }
        }

        return events;
    }

    private void Trim(DateTimeOffset now)
    {
        var oldest = now - options.AuditRetention;
        Trim(_tenants, options.AuditMaxLength);
        Trim(_global, options.GlobalAuditMaxLength);

        void Trim(LinkedList<(long Sequence, AuditEvent Event)> stream, int maxLength)
        {
            while (stream.First is { } first && (stream.Count > maxLength || first.Value.Event.Time < oldest))
            {
                stream.RemoveFirst();
            }
        }
    }
}
