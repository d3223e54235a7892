namespace Broker.Grants;

/// <summary>
/// Selects the grants of one tenant, optionally narrowed to one subject or one task (not both: each is its own
/// index). Grants are always listed within a tenant: tenants are the isolation boundary.
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Subject">Only the grants of this workload identity, when set.</param>
/// <param name="TaskId">Only the grants of this task, when set.</param>
internal sealed record GrantQuery(string Tenant, string? Subject = null, string? TaskId = null)
{
    /// <summary>Largest page a store returns from <see cref="IGrantStore.ListAsync"/>.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>A query for every grant of <paramref name="tenant"/>.</summary>
    public static GrantQuery ForTenant(string tenant) => new(tenant);

    /// <summary>A query for the grants of <paramref name="subject"/> in <paramref name="tenant"/>.</summary>
    public static GrantQuery ForSubject(string tenant, string subject) => new(tenant, Subject: subject);

    /// <summary>A query for the grants of task <paramref name="taskId"/> in <paramref name="tenant"/>.</summary>
    public static GrantQuery ForTask(string tenant, string taskId) => new(tenant, TaskId: taskId);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Tenant, nameof(Tenant));
        if (Subject is not null && TaskId is not null)
        {
            throw new ArgumentException("A grant query selects by subject or by task, not both.", nameof(TaskId));
        }

        if (Subject is { Length: 0 } || TaskId is { Length: 0 })
        {
            throw new ArgumentException("An empty subject or task selects nothing; leave it null to select the tenant.");
        }
    }
}

/// <summary>
/// One page of grants, ordered by expiry, latest first (for grants of equal lifetime: newest first), ties by
/// grant ID descending (ordinal). Only unexpired grants are listed, revoked ones included.
/// </summary>
/// <param name="Grants">The grants on this page.</param>
/// <param name="NextCursor">Pass to the next call to continue after the last grant of this page; null at the end.</param>
internal sealed record GrantPage(IReadOnlyList<GrantRecord> Grants, string? NextCursor);
