using Broker.Errors;
using Broker.Hosting;

namespace Broker.Admin;

/// <summary>The admin API's error answers, all RFC 6749-style JSON.</summary>
internal static class AdminResults
{
    public static readonly ErrorDescriptor InvalidToken = new("admin.unauthenticated", "invalid_token", "Send an admin workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor InsufficientScope = new("admin.forbidden", "insufficient_scope", "This identity may not administer that tenant.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor NotFound = new("admin.not_found", "not_found", "No such grant, or it has expired.", StatusCodes.Status404NotFound);

    public static IResult Error(ErrorDescriptor error) => ErrorResults.Json(error);

    public static IResult Invalid(string description) =>
        Results.Json(new OAuthErrorResponse(OAuthErrors.InvalidRequest, description), BrokerJsonContext.Default.OAuthErrorResponse, statusCode: StatusCodes.Status400BadRequest);

    public static IResult Unauthorized() => new ChallengeResult(Error(InvalidToken));

    public static IResult Forbidden() => Error(InsufficientScope);

    public static IResult StoreUnavailable() => new RetryAfterResult(Error(ErrorCatalog.StoreUnavailable));

    /// <summary>RFC 6750 §3: a 401 names the scheme and the error.</summary>
    private sealed class ChallengeResult(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return inner.ExecuteAsync(httpContext);
        }
    }

    private sealed class RetryAfterResult(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
