using System.Collections.Concurrent;
using Broker.Audit;

namespace Broker.Grants;

/// <summary>
/// The embedded grant store for <c>--dev</c> and single-process use. Grants live in process memory
/// and are gone on restart; expired grants are dropped lazily.
/// </summary>
internal sealed class InMemoryGrantStore(TimeProvider timeProvider) : IGrantStore
{
    private readonly ConcurrentDictionary<string, GrantRecord> _grants = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<AuditEvent> _audit = new();

    /// <summary>The audit events recorded so far, oldest first.</summary>
    public IReadOnlyCollection<AuditEvent> AuditTrail => _audit;

    public ValueTask RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grant);
        if (!_grants.TryAdd(grant.Id, grant))
        {
            // A 128-bit random ID never collides by chance; a duplicate is a bug upstream.
            throw new InvalidOperationException($"Grant '{grant.Id}' is already recorded.");
        }

        _audit.Enqueue(issued);
        return ValueTask.CompletedTask;
    }

    public ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken)
    {
        if (!_grants.TryGetValue(grantId, out var grant))
        {
            return ValueTask.FromResult<GrantRecord?>(null);
        }

        if (grant.ExpiresAt <= timeProvider.GetUtcNow())
        {
            _grants.TryRemove(grantId, out _);
            return ValueTask.FromResult<GrantRecord?>(null);
        }

        return ValueTask.FromResult<GrantRecord?>(grant);
    }

    public ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        _audit.Enqueue(auditEvent);
        return ValueTask.CompletedTask;
    }
}
