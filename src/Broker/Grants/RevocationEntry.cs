namespace Broker.Grants;

/// <summary>One entry of the revocation stream.</summary>
/// <param name="Position">
/// The entry's position: opaque, ordered within the tenant's stream, and what a reader passes back to resume
/// (the server-sent-events <c>id</c> / <c>Last-Event-ID</c>).
/// </param>
/// <param name="GrantId">The revoked grant.</param>
/// <param name="Tenant">The tenant of the revoked grant.</param>
/// <param name="RevokedAt">When it was revoked.</param>
public sealed record RevocationEntry(string Position, string GrantId, string Tenant, DateTimeOffset RevokedAt);

/// <summary>A slice of a tenant's revocation stream.</summary>
/// <param name="Entries">The entries after the requested position, oldest first.</param>
/// <param name="Position">
/// Where the next read continues (the last position read, or the requested one when nothing was read).
/// </param>
public sealed record RevocationPage(IReadOnlyList<RevocationEntry> Entries, string? Position);
