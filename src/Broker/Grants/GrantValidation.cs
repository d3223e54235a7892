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
    }

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
