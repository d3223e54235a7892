using Broker.Errors;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The broker's middleware, in order; call before <c>MapBroker()</c>.</summary>
internal static class BrokerApplicationBuilderExtensions
{
    /// <summary>
    /// Exceptions to catalog errors (<c>BrokerExceptionHandler</c>), then authentication and authorization: every
    /// route names its policy (<c>RequireAuthorization</c>) or <c>AllowAnonymous</c>.
    /// </summary>
    public static IApplicationBuilder UseBroker(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // BrokerExceptionHandler (an IExceptionHandler) answers every exception; the delegate is only the
        // framework's required fallback, with the same catalog entry.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = static context => ErrorWriter.WriteAsync(context, ErrorCatalog.ServerError, cancellationToken: context.RequestAborted),
        });
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
