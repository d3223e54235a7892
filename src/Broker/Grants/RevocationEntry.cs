namespace Broker.Grants;

/// <summary>One entry of the revocation stream.</summary>
/// <param name="Position">
/// The entry's position: ordered within the tenant's stream, and what a reader passes back to resume (the
/// server-sent-events <c>id</c> / <c>Last-Event-ID</c>).
/// </param>
/// <param name="GrantId">The revoked grant.</param>
/// <param name="Tenant">The tenant of the revoked grant.</param>
/// <param name="RevokedAt">When it was revoked.</param>
public sealed record RevocationEntry(StreamPosition Position, string GrantId, string Tenant, DateTimeOffset RevokedAt)
{
    /// <summary>When the revoked grant's token expires: a verifier may forget the revocation after that.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

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
public sealed record RevocationPage(IReadOnlyList<RevocationEntry> Entries, StreamPosition? Position, bool HistoryLost = false);
