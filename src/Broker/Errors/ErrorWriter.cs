using System.Globalization;
using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Broker.Errors;

/// <summary>
/// The one place that writes an error response. Every body is RFC 6749 §5.2 JSON built from an
/// <see cref="ErrorCatalog"/> entry, never cached; the headers follow from the status so no endpoint
/// can forget one: <c>WWW-Authenticate</c> on 401 and 403 (RFC 6750 §3), <c>Retry-After</c> on 429
/// and 503 (RFC 9110 §10.2.3), <c>Allow</c> on 405 (RFC 9110 §15.5.6).
/// </summary>
internal static class ErrorWriter
{
    /// <summary>Seconds a caller is asked to wait on 503 when the error does not say otherwise.</summary>
    public const int DefaultRetryAfterSeconds = 1;

    /// <summary>Writes <paramref name="error"/> as the response.</summary>
    /// <param name="context">The request.</param>
    /// <param name="error">The catalog entry.</param>
    /// <param name="options">Per-response details: the challenge scheme, the retry delay, the allowed methods.</param>
    /// <param name="cancellationToken">Aborts the write.</param>
    public static Task WriteAsync(HttpContext context, ErrorDescriptor error, ErrorResponseOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(error);
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        response.Headers[HeaderNames.CacheControl] = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";

        switch (error.StatusCode)
        {
            case StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden:
                // RFC 6750 §3: the challenge names the scheme and the error code, never the description
                // (a description could be mistaken for a parameter by a lenient parser).
                response.Headers[HeaderNames.WWWAuthenticate] = $"{options?.Scheme ?? "Bearer"} error=\"{error.Error}\"";
                break;
            case StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable:
                var seconds = Math.Max(1, options?.RetryAfterSeconds ?? DefaultRetryAfterSeconds);
                response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
                break;
            case StatusCodes.Status405MethodNotAllowed when options?.Allow is { } allow:
                response.Headers[HeaderNames.Allow] = allow;
                break;
        }

        response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(
            response.Body,
            new OAuthErrorResponse(error.Error, error.Description),
            ErrorsJsonContext.Default.OAuthErrorResponse,
            cancellationToken);
    }

    /// <summary>The same response as a minimal-API result.</summary>
    public static IResult Result(ErrorDescriptor error, ErrorResponseOptions? options = null) => new ErrorResult(error, options);

    private sealed class ErrorResult(ErrorDescriptor error, ErrorResponseOptions? options) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, error, options, httpContext.RequestAborted);
    }
}

/// <summary>Per-response details of an error that the catalog entry cannot know.</summary>
/// <param name="Scheme">The authentication scheme of a 401/403 challenge; <c>Bearer</c> when null.</param>
/// <param name="RetryAfterSeconds">The delay of a 429/503; <see cref="ErrorWriter.DefaultRetryAfterSeconds"/> when null.</param>
/// <param name="Allow">The methods a 405 names.</param>
internal sealed record ErrorResponseOptions(string? Scheme = null, int? RetryAfterSeconds = null, string? Allow = null);
