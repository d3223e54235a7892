using System.Text.Json;
using Broker.Audit;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The audit streams: one per routing tag (the record and revoke scripts append to it in their own step) and the
/// global one for events with no tenant, each capped by length and age.
/// </summary>
internal sealed class RedisAuditTrail(RedisStoreConnection redis, RedisGrantKeys keys, GrantsOptions options, TimeProvider timeProvider)
{
    private const int MaxReadRounds = 10;

    /// <summary>An audit event as the streams store it (<see cref="AuditDocument"/>).</summary>
    public static string Serialize(AuditEvent auditEvent)
        => JsonSerializer.Serialize(AuditDocument.From(auditEvent), GrantsJsonContext.Compact.AuditDocument);

    /// <summary>See <see cref="IGrantStore.AppendAuditAsync"/>.</summary>
    public async ValueTask AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var now = timeProvider.GetUtcNow();
        var global = string.IsNullOrEmpty(auditEvent.Tenant);
        RedisKey[] scriptKeys = [global ? keys.GlobalAuditStream : keys.AuditStream(GrantId.RoutingTag(auditEvent.Tenant!))];
        RedisValue[] args =
        [
            Serialize(auditEvent),
            global ? options.GlobalAuditMaxLength : options.AuditMaxLength,
            RedisStoreConnection.MinId(now, options.AuditRetention),
            (long)options.AuditRetention.TotalMilliseconds,
        ];
        await redis.EvaluateAsync(nameof(IGrantStore.AppendAuditAsync), RedisGrantScripts.AppendAudit, scriptKeys, args, cancellationToken);
    }

    /// <summary>See <see cref="IGrantStore.ReadAuditAsync"/>.</summary>
    public async ValueTask<IReadOnlyList<AuditEvent>> ReadAsync(string? tenant, int count, CancellationToken cancellationToken)
    {
        GrantValidation.ForCount(count);

        // A tag's stream is shared by the tenants with that tag: events of the others are skipped.
        var key = string.IsNullOrEmpty(tenant) ? keys.GlobalAuditStream : keys.AuditStream(GrantId.RoutingTag(tenant));
        List<AuditEvent> events = [];
        string? before = null;
        for (var round = 0; round < MaxReadRounds && events.Count < count; round++)
        {
            var max = before is null ? "+" : "(" + before;
            var wanted = count - events.Count;
            var read = await redis.RunAsync(nameof(IGrantStore.ReadAuditAsync), db => db.StreamRangeAsync(key, "-", max, wanted, Order.Descending), cancellationToken);
            foreach (var entry in read)
            {
                before = entry.Id.ToString();
                var auditEvent = JsonSerializer.Deserialize((string)entry["e"]!, GrantsJsonContext.Compact.AuditDocument)?.ToEvent();
                if (auditEvent is not null && string.Equals(auditEvent.Tenant ?? string.Empty, tenant ?? string.Empty, StringComparison.Ordinal))
                {
                    events.Add(auditEvent);
                }
            }

            if (read.Length < wanted)
            {
                // The start of the stream.
                break;
            }
        }

        return events;
    }
}
