using Broker.Audit;

namespace Broker.Catalog;

/// <summary>What both stores refuse before writing: a bug upstream, never input (the endpoints validate input).</summary>
internal static class CatalogValidation
{
    public static void ForWrite(string tenant, string resource, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(resource);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        ArgumentNullException.ThrowIfNull(withdrawals);
        ArgumentNullException.ThrowIfNull(audit);
        if (!string.Equals(audit.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new ArgumentException("A catalog write is audited in its own tenant's stream.", nameof(audit));
        }

        if (withdrawals.Any(w => !string.Equals(w.Withdrawal.Resource, resource, StringComparison.Ordinal)))
        {
            throw new ArgumentException("A write withdraws capabilities of its own resource only.", nameof(withdrawals));
        }
    }
}
