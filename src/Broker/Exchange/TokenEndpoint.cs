using System.Collections.Frozen;
using System.Text.Json;
using Broker.DPoP;
using Broker.Errors;
using Broker.Grants;
using Broker.OAuth;
using Broker.RateLimiting;
using Broker.Subjects;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Exchange;

/// <summary>
/// <c>POST /oauth2/token</c>: reads the form within bounds, runs the exchange (RFC 8693 token exchange or RFC 7523
/// jwt-bearer grant) and writes the RFC 8693 (or RFC 6749 §5.1) response or the RFC 6749 §5.2 error. Responses are
/// never cached (RFC 6749 §5.1). Every request, refused at the door or deep in the pipeline, is exactly one audit event.
/// </summary>
internal sealed class TokenEndpoint(TokenExchangeService exchange, DPoPTokenProofs dpop, IOptions<ExchangeOptions> options, IOptions<SubjectsOptions> subjects, ILogger<TokenEndpoint> logger)
{
    /// <summary>The endpoint's path; the issuer's URL followed by it is the token endpoint of the RFC 8414 metadata.</summary>
    public const string Path = OAuthRoutes.TokenPath;

    /// <summary>RFC 8707 §2 and RFC 8693 §2.1 let resource and audience repeat; the request reader then refuses more than one target.</summary>
    private static readonly FrozenSet<string> MultiValued = FrozenSet.Create(StringComparer.Ordinal, ExchangeParameters.Resource, ExchangeParameters.Audience);

    private readonly ExchangeOptions _options = options.Value;
    private readonly OAuthFormLimits _limits = new(options.Value.MaxRequestBytes, MultiValued);
    private readonly int _maxTokenLength = subjects.Value.MaxTokenLength;

    public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.Headers[HeaderNames.Pragma] = "no-cache";
        var caller = new ExchangeCaller(context.Connection.RemoteIpAddress?.ToString(), context.Connection.ClientCertificate);
        var audit = new ExchangeAudit(caller.Address);
        using var span = ExchangeTelemetry.StartExchange();
        try
        {
            // RFC 9449 §8.2: with nonces on, every answer carries a current one, so a client learns the next before
            // its nonce goes stale.
            if (await dpop.IssueNonceAsync(cancellationToken) is { } nonce)
            {
                context.Response.Headers[Jose.DPoP.DPoPConstants.NonceHeaderName] = nonce;
            }

            var (form, formError) = await OAuthFormReader.ReadAsync(context, _limits, cancellationToken);
            if (form is null)
            {
                await RefuseAsync(context, audit, formError!, cancellationToken: cancellationToken);
                return;
            }

            // Correlates a refusal with the token a caller sent, before anything trusts it; only the hash is kept.
            if (TokenRequestReader.PresentedToken(form) is { } presented)
            {
                audit.SubjectTokenSha256 = TokenHash.Of(presented).ToString();
            }

            var (request, requestError) = TokenRequestReader.Read(form, _options, _maxTokenLength);
            if (request is null)
            {
                await RefuseAsync(context, audit, requestError!, cancellationToken: cancellationToken);
                return;
            }

            // RFC 9449 §5: a proof, when sent, is checked in full before the grant; its key is what the token is bound to.
            var proof = await dpop.CheckAsync(context.Request, cancellationToken);
            if (proof.Error is { } proofError)
            {
                audit.Describe(request, TokenHash.Of(request.SubjectToken));
                await RefuseAsync(context, audit, proofError, cancellationToken: cancellationToken);
                return;
            }

            await ExchangeAsync(context, request, caller with { DPoPThumbprint = proof.Thumbprint }, audit, cancellationToken);
        }
        finally
        {
            // A request that ended on no answer (the client went away mid-body, a bug) is still one event.
            if (!audit.IsRecorded)
            {
                await exchange.RefuseAsync(audit, context.RequestAborted.IsCancellationRequested ? ErrorCatalog.RequestAborted : ErrorCatalog.ServerError);
            }
        }
    }

    /// <summary>Any method but POST: 405, audited like every other refusal of this endpoint.</summary>
    public Task MethodNotAllowedAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RefuseAsync(context, new ExchangeAudit(context.Connection.RemoteIpAddress?.ToString()), ErrorCatalog.MethodNotAllowed, new ErrorResponseOptions(Allow: OAuthRoutes.Allow), context.RequestAborted);
    }

    private async Task ExchangeAsync(HttpContext context, TokenExchangeRequest request, ExchangeCaller caller, ExchangeAudit audit, CancellationToken cancellationToken)
    {
        ExchangeOutcome outcome;
        try
        {
            outcome = await exchange.ExchangeAsync(request, caller, audit, cancellationToken);
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
                await JsonSerializer.SerializeAsync(context.Response.Body, issued.Response, ExchangeJsonContext.Default.TokenExchangeResponse, cancellationToken);
                break;
            case ExchangeOutcome.Rejected rejected:
                Log.ExchangeRefused(logger, rejected.Reason.Reason);
                await ErrorWriter.WriteAsync(context, rejected.Reason, rejected.RetryAfter is { } delay ? RetryAfter.Options(delay) : null, cancellationToken);
                break;
        }
    }

    /// <summary>A refusal before the pipeline ran: audited first, then answered.</summary>
    private async Task RefuseAsync(HttpContext context, ExchangeAudit audit, ErrorDescriptor error, ErrorResponseOptions? responseOptions = null, CancellationToken cancellationToken = default)
    {
        Log.ExchangeRefused(logger, error.Reason);
        await exchange.RefuseAsync(audit, error);
        await ErrorWriter.WriteAsync(context, error, responseOptions, cancellationToken);
    }
}
