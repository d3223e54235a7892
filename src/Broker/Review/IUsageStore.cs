using Broker.Policy.Review;

namespace Broker.Review;

/// <summary>
/// Grant counts per tenant per UTC day: how many grants of each capability each identity obtained, capped in distinct
/// (capability, identity) pairs per day, with an overflow count past the cap. Written by <see cref="UsageFlusher"/>
/// only, read by the access review. Every member completes or throws
/// <see cref="Grants.GrantStoreUnavailableException"/> within the store's timeout.
/// </summary>
internal interface IUsageStore
{
    /// <summary>Adds the counts of one flush, each day of each tenant bounded by the cap.</summary>
    ValueTask AddAsync(IReadOnlyList<UsageBatch> batches, CancellationToken cancellationToken);

    /// <summary>The counts of <paramref name="tenant"/> over <paramref name="days"/>, summed.</summary>
    ValueTask<UsageTally> ReadAsync(string tenant, IReadOnlyList<DateOnly> days, CancellationToken cancellationToken);
}

/// <summary>The counts of one tenant-day in one flush.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Day">The UTC day the grants were recorded.</param>
/// <param name="Counts">Grants per (capability, identity).</param>
/// <param name="Overflow">Grants whose identity was not kept (the queue was full).</param>
internal sealed record UsageBatch(string Tenant, DateOnly Day, IReadOnlyDictionary<UsageKey, long> Counts, long Overflow);

/// <summary>What one count is of.</summary>
/// <param name="Capability">The capability (a scope token: no spaces).</param>
/// <param name="Identity">The grant's subject, source-qualified for OIDC.</param>
internal readonly record struct UsageKey(string Capability, string Identity)
{
    /// <summary>The field name in a day's hash: the capability, a space, the identity (a scope token has no space).</summary>
    public string Field => Capability + " " + Identity;

    /// <summary>Reads <see cref="Field"/> back; false for anything else (the overflow field).</summary>
    public static bool TryParse(string field, out UsageKey key)
    {
        var space = field.IndexOf(' ', StringComparison.Ordinal);
        key = space > 0 && space < field.Length - 1 ? new UsageKey(field[..space], field[(space + 1)..]) : default;
        return space > 0 && space < field.Length - 1;
    }
}
