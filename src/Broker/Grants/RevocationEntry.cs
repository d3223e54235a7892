namespace Broker.Grants;

/// <summary>
/// One entry of the revocation stream: a revoked grant, or (<see cref="Withdrawal"/> set) a capability withdrawn from
/// the catalog, after which verifiers stop honouring tokens for it issued until then.
/// </summary>
/// <param name="Position">
/// The entry's position: ordered within the tenant's stream, and what a reader passes back to resume (the
/// server-sent-events <c>id</c> / <c>Last-Event-ID</c>).
/// </param>
/// <param name="GrantId">The revoked grant; empty for a withdrawal.</param>
/// <param name="Tenant">The tenant of the revoked grant.</param>
/// <param name="RevokedAt">When it was revoked (or the capability withdrawn).</param>
internal sealed record RevocationEntry(StreamPosition Position, string GrantId, string Tenant, DateTimeOffset RevokedAt)
{
    /// <summary>When the revoked grant's token expires: a verifier may forget the revocation after that.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>
    /// Set when the entry announces a capability withdrawn from the catalog rather than a revoked grant; then
    /// <see cref="ExpiresAt"/> is when the last token that carried it and was issued before the withdrawal expires.
    /// </summary>
    public CapabilityWithdrawal? Withdrawal { get; init; }

    /// <summary>A withdrawal entry of <paramref name="tenant"/>'s stream.</summary>
    public static RevocationEntry Withdrawn(StreamPosition position, string tenant, CapabilityWithdrawal withdrawal, DateTimeOffset at, DateTimeOffset keepUntil) =>
        new(position, string.Empty, tenant, at) { ExpiresAt = keepUntil, Withdrawal = withdrawal };
}

/// <summary>
/// A capability that stopped being published on its resource (unpublished, or republished without tools under it)
/// in a tenant that requires publication: its tokens issued until then must no longer be honoured.
/// </summary>
/// <param name="Capability">The capability's name.</param>
/// <param name="Resource">The resource (MCP server URI) it was published on.</param>
internal sealed record CapabilityWithdrawal(string Capability, string Resource);

/// <summary>A slice of a tenant's revocation stream.</summary>
/// <param name="Entries">The entries after the requested position, oldest first.</param>
/// <param name="Position">
/// Where the next read continues (the last position read, or the requested one when nothing was read).
/// </param>
/// <param name="HistoryLost">
/// True when entries after the requested position may have been trimmed (by age or length) before this read:
/// the reader may have missed revocations and must resynchronise (status list) before trusting the feed again.
/// Conservative: it can be true when nothing of this tenant was lost, never false when something was.
/// </param>
internal sealed record RevocationPage(IReadOnlyList<RevocationEntry> Entries, StreamPosition? Position, bool HistoryLost = false);
