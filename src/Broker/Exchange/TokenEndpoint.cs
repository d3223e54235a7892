using System.Text.Json;
using Broker.Errors;
using Broker.Grants;
using Broker.Hosting;
using Broker.RateLimiting;
using Broker.Subjects;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Exchange;

/// <summary>
/// <c>POST /oauth2/token</c>: reads the form within bounds, runs the exchange and writes the RFC 8693
/// response or the RFC 6749 §5.2 error. Responses are never cached (RFC 6749 §5.1).
/// </summary>
internal sealed class TokenEndpoint(TokenExchangeService exchange, IOptions<ExchangeOptions> options, IOptions<SubjectsOptions> subjects, ILogger<TokenEndpoint> logger)
{
    private readonly ExchangeOptions _options = options.Value;
    private readonly int _maxTokenLength = subjects.Value.MaxTokenLength;

    public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.Headers[HeaderNames.Pragma] = "no-cache";

        var (form, formError) = await ReadFormAsync(context, cancellationToken);
        if (form is null)
        {
            await ErrorWriter.WriteAsync(context, formError!, cancellationToken: cancellationToken);
            return;
        }

        var (request, requestError) = ExchangeRequestReader.Read(form, _options, _maxTokenLength);
        if (request is null)
        {
            Log.ExchangeRefused(logger, requestError!.Reason);
            await ErrorWriter.WriteAsync(context, requestError, cancellationToken: cancellationToken);
            return;
        }

        ExchangeOutcome outcome;
        try
        {
            var caller = new ExchangeCaller(context.Connection.RemoteIpAddress?.ToString(), context.Connection.ClientCertificate);
            outcome = await exchange.ExchangeAsync(request, caller, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not GrantStoreUnavailableException)
        {
            // Audited by the service; the caller gets a generic error, never the exception text.
            Log.ExchangeFailed(logger, ex);
            await ErrorWriter.WriteAsync(context, ErrorCatalog.ServerError, cancellationToken: cancellationToken);
            return;
        }

        switch (outcome)
        {
            case ExchangeOutcome.Issued issued:
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body, issued.Response, BrokerJsonContext.Default.TokenExchangeResponse, cancellationToken);
                break;
            case ExchangeOutcome.Rejected rejected:
                Log.ExchangeRefused(logger, rejected.Reason.Reason);
                await ErrorWriter.WriteAsync(context, rejected.Reason, rejected.RetryAfter is { } delay ? RetryAfter.Options(delay) : null, cancellationToken);
                break;
        }
    }

    private async Task<(IFormCollection? Form, ErrorDescriptor? Error)> ReadFormAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!context.Request.HasFormContentType
            || !context.Request.ContentType!.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ErrorCatalog.NotForm);
        }

        if (context.Request.ContentLength > _options.MaxRequestBytes)
        {
            return (null, ErrorCatalog.FormTooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = _options.MaxRequestBytes;
        }

        try
        {
            var form = await context.Request.ReadFormAsync(new FormOptions
            {
                ValueCountLimit = 32,
                KeyLengthLimit = 64,
                ValueLengthLimit = (int)_options.MaxRequestBytes,
                BufferBody = false,
            }, cancellationToken);
            return (form, null);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ErrorCatalog.FormTooLarge);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return (null, ErrorCatalog.FormMalformed);
        }
    }
}
