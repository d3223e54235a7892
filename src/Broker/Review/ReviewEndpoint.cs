using System.Globalization;
using Broker.Admin;
using Broker.Audit;
using Broker.Catalog;
using Broker.Errors;
using Broker.Policy;
using Broker.Policy.Review;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// <c>GET /admin/v1/review?tenant=…[&amp;days=N]</c>: the tenant's inventory and access review
/// (<see cref="AccessReviewBuilder"/>) over the last N UTC days (default 30, at most the counters' retention, 90 by
/// default). The route's policy (<see cref="Authentication.WorkloadPolicies.TenantAdmin"/>) has checked the caller
/// administers <c>tenant</c>; each review is audited. Its size is bounded by policy and <see cref="ReviewLimits"/>.
/// </summary>
internal sealed class ReviewEndpoint(AdminGate gate, IPolicyProvider policyProvider, ICatalogStore catalog, IUsageStore usage, IOptions<ReviewOptions> options, TimeProvider timeProvider)
{
    public const string Action = "admin.review";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        // :: Step 1. The query: one tenant, at most one days within the retention.
        var query = context.Request.Query;
        var tenants = query["tenant"];
        var dayValues = query["days"];
        var days = ReviewLimits.DefaultDays < options.Value.RetentionDays ? ReviewLimits.DefaultDays : options.Value.RetentionDays;
        if (tenants.Count != 1 || tenants[0] is not { Length: > 0 and <= 128 } name || dayValues.Count > 1
            || (dayValues.Count == 1 && (!int.TryParse(dayValues[0], NumberStyles.None, CultureInfo.InvariantCulture, out days) || days < 1 || days > options.Value.RetentionDays)))
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidReviewQuery);
        }

        // :: Step 2. The policy in force (the route checked the tenant exists; a reload may have removed it since).
        var admin = AdminGate.Caller(context);
        var policy = policyProvider.Current;
        if (policy is null || !policy.Tenants.TryGetValue(name, out var tenant))
        {
            return ErrorWriter.Result(ErrorCatalog.AdminForbidden);
        }

        // :: Step 3. What exists and what was used, then the review.
        var window = new ReviewWindow(timeProvider.GetUtcNow(), days);
        var publications = await catalog.ListAsync(name, cancellationToken);
        var tally = await usage.ReadAsync(name, [.. window.EachDay()], cancellationToken);

        // A shared capability's consumers are counted in their own tenants (as owner:capability): read each one the
        // tenant shares with, for the review's consumer lists.
        Dictionary<string, UsageTally> consumerUsage = new(StringComparer.Ordinal);
        foreach (var consumer in policy.Sharing.Active.Where(s => s.Owner == name).Select(s => s.Consumer).Distinct(StringComparer.Ordinal))
        {
            consumerUsage[consumer] = await usage.ReadAsync(consumer, [.. window.EachDay()], cancellationToken);
        }

        var review = AccessReviewBuilder.Build(
            tenant,
            policy.Version,
            window,
            [.. publications.Select(p => new ReviewPublication(p.Resource, p.PublishedBy, p.PublishedAt, p.Version, [.. p.Tools.Select(t => new ReviewTool(t.Name, t.Capability, t.Title, t.Description))]))],
            tally,
            options.Value.FlushInterval,
            policy.Sharing,
            consumerUsage);
        await gate.AuditAsync(context, Action, admin.QualifiedId, name, AuditOutcome.Allowed, null);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(review, AccessReviewJsonContext.Default.AccessReview);
    }
}
