using Broker.Hosting;

namespace Broker.Errors;

/// <summary>RFC 6749 §5.2 error bodies as minimal-API results.</summary>
internal static class ErrorResults
{
    public static IResult Json(ErrorDescriptor error) =>
        Results.Json(new OAuthErrorResponse(error.Error, error.Description), BrokerJsonContext.Default.OAuthErrorResponse, statusCode: error.StatusCode);
}
