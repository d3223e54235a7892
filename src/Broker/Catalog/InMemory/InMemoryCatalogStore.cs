using Broker.Audit;
using Broker.Grants;
using Broker.Grants.InMemory;

namespace Broker.Catalog.InMemory;

/// <summary>
/// The embedded catalog (<c>--dev</c>, single process): entries in a dictionary under one lock; the audit event and
/// withdrawals of a write go to the in-memory grant store's streams while that lock is held, so a reader never sees a
/// write without them. Lives as long as the process, like the grants.
/// </summary>
/// <remarks>
/// Given a grant store that is not the in-memory one (an application's decorator around it), a write's audit event
/// is appended through <see cref="IGrantStore.AppendAuditAsync"/>, and a write that would withdraw a capability is
/// refused: its announcement could not be written with it.
/// </remarks>
internal sealed class InMemoryCatalogStore(IGrantStore grants) : ICatalogStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Tenant, string Resource), CatalogEntry> _entries = [];

    public ValueTask<CatalogEntry?> GetAsync(string tenant, string resource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(resource);
        lock (_lock)
        {
            return ValueTask.FromResult(_entries.GetValueOrDefault((tenant, resource)));
        }
    }

    public ValueTask<IReadOnlyList<Publication>> ListAsync(string tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        lock (_lock)
        {
            IReadOnlyList<Publication> list = [.. _entries
                .Where(e => e.Key.Tenant == tenant && e.Value.Current is not null)
                .OrderBy(e => e.Key.Resource, StringComparer.Ordinal)
                .Select(e => e.Value.Current!)];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<CatalogWriteResult> PublishAsync(Publication publication, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publication);
        CatalogValidation.ForWrite(publication.Tenant, publication.Resource, expectedVersion, withdrawals, audit);
        if (publication.Version != expectedVersion + 1)
        {
            throw new ArgumentException("A publication's version is the expected version + 1.", nameof(publication));
        }

        return ValueTask.FromResult(Write(publication.Tenant, publication.Resource, expectedVersion, publication, withdrawals, audit));
    }

    public ValueTask<CatalogWriteResult> UnpublishAsync(string tenant, string resource, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken)
    {
        CatalogValidation.ForWrite(tenant, resource, expectedVersion, withdrawals, audit);
        return ValueTask.FromResult(Write(tenant, resource, expectedVersion, null, withdrawals, audit));
    }

    private CatalogWriteResult Write(string tenant, string resource, long expectedVersion, Publication? publication, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit)
    {
        lock (_lock)
        {
            var current = _entries.GetValueOrDefault((tenant, resource))?.Version ?? 0;
            if (current != expectedVersion)
            {
                return new CatalogWriteResult.VersionMismatch(current);
            }

            IReadOnlyList<RevocationEntry> announced;
            if (grants is InMemoryGrantStore memory)
            {
                announced = memory.RecordCatalogChange(audit, [.. withdrawals.Select(w => (w.Withdrawal, w.KeepUntil))]);
            }
            else if (withdrawals.Count == 0)
            {
                // Completes at once for every in-process store; the lock is held so writes stay ordered with their events.
                grants.AppendAuditAsync(audit, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                announced = [];
            }
            else
            {
                throw new InvalidOperationException("The in-memory catalog announces withdrawals only through the in-memory grant store.");
            }

            _entries[(tenant, resource)] = new CatalogEntry(expectedVersion + 1, publication);
            return new CatalogWriteResult.Written(expectedVersion + 1, announced);
        }
    }
}
