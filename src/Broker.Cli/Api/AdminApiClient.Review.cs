using System.Globalization;
using Broker.Policy.Review;

namespace Broker.Cli.Api;

/// <summary>The access review route, read into the broker's own wire model (<see cref="AccessReviewJsonContext"/>).</summary>
internal sealed partial class AdminApiClient
{
    // GET /admin/v1/review?tenant=…[&days=…]
    public Task<ApiResult<AccessReview>> GetReviewAsync(string tenant, int? days, CancellationToken cancellationToken) =>
        SendAsync(
            new HttpRequestMessage(HttpMethod.Get, "review" + Query(("tenant", tenant), ("days", days?.ToString(CultureInfo.InvariantCulture)))),
            AccessReviewJsonContext.Default.AccessReview,
            cancellationToken);
}
