namespace Broker.Grants;

/// <summary>Argument checks shared by every store, so that each rejects exactly what the others reject.</summary>
internal static class GrantValidation
{
    /// <summary>Longest <c>revokedBy</c> and <c>reason</c> accepted: they are stored, audited and announced.</summary>
    public const int MaxRevocationTextLength = 512;

    public static void ForRecord(GrantRecord grant, Audit.AuditEvent issued, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(issued);
        ArgumentException.ThrowIfNullOrEmpty(grant.Tenant, nameof(grant));

        // The ID must be the one GrantId.New made for this tenant: stores find the tenant's partition from it.
        if (!GrantId.TryGetRoutingTag(grant.Id, out var tag) || !string.Equals(tag, GrantId.RoutingTag(grant.Tenant), StringComparison.Ordinal))
        {
            throw new ArgumentException("The grant ID was not made by GrantId.New for the grant's tenant.", nameof(grant));
        }

        if (grant.ExpiresAt <= now || grant.ExpiresAt < grant.IssuedAt)
        {
            throw new ArgumentException("The grant has already expired or expires before it was issued.", nameof(grant));
        }

        if (!string.Equals(issued.Tenant, grant.Tenant, StringComparison.Ordinal))
        {
            throw new ArgumentException("The issuance audit event belongs to another tenant than the grant.", nameof(issued));
        }

        // A derived grant keeps its parent's tenant, so its ID carries the parent's routing tag: a whole family of
        // grants lives in one partition (one Redis Cluster hash slot), which is what lets recording a child (check
        // the parent, link to it) and revoking a parent with all its descendants each be one atomic step.
        if (grant.ParentGrantId is { } parent
            && (!GrantId.TryGetRoutingTag(parent, out var parentTag) || !string.Equals(parentTag, tag, StringComparison.Ordinal)
                || string.Equals(parent, grant.Id, StringComparison.Ordinal)))
        {
            throw new ArgumentException("The parent grant ID is malformed, the grant itself, or of another tenant.", nameof(grant));
        }
    }

    /// <summary>
    /// The reason a descendant is marked with when an ancestor's revocation cascades to it: it names the ancestor, so
    /// the descendant's record and audit event say why. The Redis revoke script builds the same text.
    /// </summary>
    public static string DescendantReason(string ancestorId, string reason) => $"revoked with ancestor {ancestorId}: {reason}";

    public static void ForRevocation(string revokedBy, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(revokedBy);
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(revokedBy.Length, MaxRevocationTextLength, nameof(revokedBy));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(reason.Length, MaxRevocationTextLength, nameof(reason));
    }

    public static void ForCount(int count, int max = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, max);
    }
}
