using Broker.Errors;

namespace Broker.RateLimiting;

/// <summary>
/// Answers 429 to an address that keeps failing authentication before the endpoint reads anything, for
/// endpoints that authenticate inside (the token endpoint validates the subject token itself). Routes
/// behind the Workload scheme get the same check from its handler.
/// </summary>
internal sealed class FailedAuthenticationFilter(FailedAuthenticationLimiter failures) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (failures.IsBlocked(context.HttpContext.Connection.RemoteIpAddress, out var retryAfter))
        {
            failures.CountRefusal();
            return ErrorWriter.Result(ErrorCatalog.AuthenticationRateLimited, RetryAfter.Options(retryAfter));
        }

        return await next(context);
    }
}
