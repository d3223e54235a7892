using Broker.Grants;
using Broker.Policy;

namespace Broker.Admin;

/// <summary>
/// The grants of capabilities shared across tenants, as the admin API shows them (docs/sharing.md). A shared grant lives
/// in the owning tenant (its indexes, its revocation feed) and names the consuming tenant; the consumer's grants are
/// those of the owner's tenant index that name it, read page by page with the filter applied here, so sharing needs no
/// index of its own.
/// </summary>
internal static class SharedGrants
{
    /// <summary>Most store pages one filtered listing reads before it answers with what it found and a cursor to go on.</summary>
    public const int MaxPagesPerRequest = 50;

    /// <summary>
    /// Up to <paramref name="limit"/> grants of <paramref name="query"/> whose consuming tenant is
    /// <paramref name="consumer"/>, and the store's cursor after the last grant read. Each store page asks for no more
    /// than are still missing, so no matching grant is ever passed over by the cursor; a page may be shorter than the
    /// limit (even empty) while the cursor is not null.
    /// </summary>
    public static async Task<GrantPage> ListAsync(IGrantStore store, GrantQuery query, string consumer, string? cursor, int limit, CancellationToken cancellationToken)
    {
        var found = new List<GrantRecord>();
        for (var pages = 0; pages < MaxPagesPerRequest && found.Count < limit; pages++)
        {
            var page = await store.ListAsync(query, cursor, limit - found.Count, cancellationToken);
            found.AddRange(page.Grants.Where(g => string.Equals(g.ConsumerTenant, consumer, StringComparison.Ordinal)));
            cursor = page.NextCursor;
            if (cursor is null)
            {
                break;
            }
        }

        return new GrantPage(found, cursor);
    }

    /// <summary>
    /// Revokes every grant of <paramref name="query"/> whose consuming tenant is <paramref name="consumer"/>, one by one
    /// (each revocation atomic and audited by the store, with its cascade and its feed entry); the number revoked now.
    /// </summary>
    public static async Task<int> RevokeAllAsync(IGrantStore store, GrantQuery query, string consumer, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        // Collected first, then revoked: revoking while paging would not move the listing, but reading it whole keeps
        // the two steps plain.
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await store.ListAsync(query, cursor, GrantQuery.MaxPageSize, cancellationToken);
            ids.AddRange(page.Grants.Where(g => g.Status == GrantStatus.Active && string.Equals(g.ConsumerTenant, consumer, StringComparison.Ordinal)).Select(g => g.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var revoked = 0;
        foreach (var id in ids)
        {
            if (await store.RevokeAsync(id, revokedBy, reason, cancellationToken) is Revoked)
            {
                revoked++;
            }
        }

        return revoked;
    }

    /// <summary>Parses the sharing filters of a listing or bulk revocation; false when one is malformed or they conflict.</summary>
    /// <param name="consumerTenant">The owner's filter: only the grants of this consuming tenant.</param>
    /// <param name="sharedBy">The consumer's view: the grants the owner <c>shared_by</c> holds for the named tenant.</param>
    /// <returns>True when both are absent or exactly one is a tenant name.</returns>
    public static bool AreValid(string? consumerTenant, string? sharedBy) =>
        !(consumerTenant is not null && sharedBy is not null)
        && (consumerTenant is null || Grammar.IsTenantName(consumerTenant))
        && (sharedBy is null || Grammar.IsTenantName(sharedBy));
}
