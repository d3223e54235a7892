using System.Threading.RateLimiting;
using Broker.Authentication;
using Broker.Errors;
using Broker.RateLimiting;
using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Exchange;

/// <summary>
/// The token endpoint's limits, applied once the subject is validated (the identity is only known then):
/// per workload identity and per tenant, from the tenant's <c>rate_limits</c> or <c>Broker:RateLimits</c>,
/// and the count of failed subject and actor tokens per client address. A changed limit (policy reload)
/// takes a fresh bucket: the limit is part of the partition key.
/// </summary>
internal sealed class ExchangeRateLimiter : IDisposable
{
    private readonly BoundedPartitionedRateLimiter<IdentityPartition> _identities;
    private readonly BoundedPartitionedRateLimiter<TenantPartition> _tenants;
    private readonly FailedAuthenticationLimiter _failures;
    private readonly RateLimit _defaultPerIdentity;
    private readonly RateLimit _defaultPerTenant;
    private readonly RateLimitingTelemetry _telemetry;

    public ExchangeRateLimiter(IOptions<RateLimitOptions> options, FailedAuthenticationLimiter failures, TimeProvider timeProvider, RateLimitingTelemetry telemetry)
    {
        _telemetry = telemetry;
        var value = options.Value;
        _ = RateLimit.TryParse(value.PerIdentity, out _defaultPerIdentity);
        _ = RateLimit.TryParse(value.PerTenant, out _defaultPerTenant);
        _identities = new BoundedPartitionedRateLimiter<IdentityPartition>(static p => Bucket(p.Limit), value.MaxPartitions, timeProvider);
        _tenants = new BoundedPartitionedRateLimiter<TenantPartition>(static p => Bucket(p.Limit), value.MaxPartitions, timeProvider);
        _failures = failures;
    }

    /// <summary>Counts a refused subject or actor token against the caller's address.</summary>
    public void AuthenticationFailed(ExchangeCaller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        _failures.RecordFailure(AddressKey.From(caller.Address));
    }

    /// <summary>
    /// Takes one exchange from the subject's and its tenant's budgets; the rejection to return when either
    /// is spent, else null. An identity no tenant claims is not limited here: policy refuses it next.
    /// </summary>
    public ExchangeOutcome.Rejected? Acquire(PolicySet policy, WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var (tenant, _) = PolicyEvaluator.ResolveTenant(policy, subject);
        if (tenant is null)
        {
            return null;
        }

        var perIdentity = tenant.RateLimits?.PerIdentity ?? _defaultPerIdentity;
        var perTenant = tenant.RateLimits?.PerTenant ?? _defaultPerTenant;
        var tenantKey = new TenantPartition(tenant.Name, perTenant);

        // The tenant is looked at first, so a new identity's bucket is only made while the tenant has budget;
        // then the identity is charged, then the tenant: an identity over its own limit is refused without
        // spending what its tenant's other workloads share.
        if (!perTenant.IsUnlimited && !_tenants.HasPermit(tenantKey, out var tenantRetry))
        {
            _telemetry.Rejected("tenant");
            return Rejected(tenantRetry);
        }

        if (!perIdentity.IsUnlimited
            && Refused(_identities.AttemptAcquire(new IdentityPartition(WorkloadPrincipal.Qualify(subject.Kind, subject.Source, subject.Id), tenant.Name, perIdentity)), perIdentity) is { } identityFull)
        {
            _telemetry.Rejected("identity");
            return identityFull;
        }

        if (perTenant.IsUnlimited || Refused(_tenants.AttemptAcquire(tenantKey), perTenant) is not { } tenantFull)
        {
            return null;
        }

        _telemetry.Rejected("tenant");
        return tenantFull;
    }

    public void Dispose()
    {
        _identities.Dispose();
        _tenants.Dispose();
    }

    /// <summary>
    /// Null when <paramref name="lease"/> was acquired. Retry-After is the time one permit takes to refill: the
    /// bucket refills continuously, so that is when a retry can succeed (the lease's own hint is a whole period).
    /// </summary>
    private static ExchangeOutcome.Rejected? Refused(RateLimitLease lease, RateLimit limit)
    {
        using (lease)
        {
            if (lease.IsAcquired)
            {
                return null;
            }

            var onePermit = limit.Period / limit.Permits;
            return Rejected(lease.TryGetMetadata(MetadataName.RetryAfter, out var hint) && hint < onePermit ? hint : onePermit);
        }
    }

    private static ExchangeOutcome.Rejected Rejected(TimeSpan retryAfter) => new(ErrorCatalog.RateLimited, retryAfter);

    private static TokenBucketRateLimiterOptions Bucket(RateLimit limit) => new()
    {
        TokenLimit = limit.Permits,
        TokensPerPeriod = limit.Permits,
        ReplenishmentPeriod = limit.Period,
        QueueLimit = 0,
        AutoReplenishment = false,
    };

    private readonly record struct IdentityPartition(string Identity, string Tenant, RateLimit Limit);

    private readonly record struct TenantPartition(string Tenant, RateLimit Limit);
}
