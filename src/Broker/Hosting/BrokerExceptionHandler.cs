using Broker.Errors;
using Broker.Grants;
using Microsoft.AspNetCore.Diagnostics;

namespace Broker.Hosting;

/// <summary>
/// The last word on an exception no endpoint handled, for every endpoint alike: a grant store that does not
/// answer is an outage (503 <c>temporarily_unavailable</c> with <c>Retry-After</c>, RFC 9110 §15.6.4), whatever
/// was being done with it (authenticating a subject, an actor, an admin or an introspection caller, or serving
/// the request); anything else is a 500 <c>server_error</c>. Both through <see cref="ErrorWriter"/>; the exception
/// text never reaches the caller.
/// </summary>
internal sealed class BrokerExceptionHandler(ILogger<BrokerExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        if (exception is GrantStoreUnavailableException)
        {
            Log.StoreUnavailable(logger, httpContext.Request.Path);
            await ErrorWriter.WriteAsync(httpContext, ErrorCatalog.StoreUnavailable, cancellationToken: cancellationToken);
            return true;
        }

        Log.UnhandledException(logger, httpContext.Request.Path, exception);
        await ErrorWriter.WriteAsync(httpContext, ErrorCatalog.ServerError, cancellationToken: cancellationToken);
        return true;
    }
}
