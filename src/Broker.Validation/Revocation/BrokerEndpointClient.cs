// Broker.Validation — resource servers honour broker tokens.

using System.Net.Http.Headers;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>
/// What the background clients of the broker's revocation endpoints (the feed, the status list) share: the endpoint
/// is discovered in the token scheme's own broker metadata (on the broker's origin, never a URL from anywhere else),
/// fetched with GET through the client's named <see cref="HttpClient"/> (no redirects, no cookies: set where it is
/// registered) and must answer 2xx with its one media type; each attempt says how long to wait before the next, and
/// the wait is on the host's clock until the host stops.
/// </summary>
internal abstract class BrokerEndpointClient(
    string scheme,
    IOptionsMonitor<JwtBearerOptions> jwtBearerOptions,
    IHttpClientFactory httpClientFactory,
    string httpClientName,
    TimeProvider timeProvider) : BackgroundService
{
    protected TimeProvider TimeProvider => timeProvider;

    /// <summary>
    /// Registers <typeparamref name="TClient"/> as a singleton (its health check reads it) that the host runs, with
    /// its named <see cref="HttpClient"/>: no redirects (the URL is the broker's, and a credential may go with it) and
    /// no cookies.
    /// </summary>
    public static void Register<TClient>(IServiceCollection services, string httpClientName, Action<HttpClient>? configureClient = null)
        where TClient : BrokerEndpointClient
    {
        services.AddHttpClient(httpClientName, configureClient ?? (_ => { }))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.AddSingleton<TClient>();
        services.AddHostedService(sp => sp.GetRequiredService<TClient>());
    }

    /// <summary>One attempt (discover, fetch, apply) and its failure handling; returns the wait before the next.</summary>
    /// <remarks>An <see cref="OperationCanceledException"/> of <paramref name="stoppingToken"/> ends the loop.</remarks>
    protected abstract Task<TimeSpan> RunOnceAsync(CancellationToken stoppingToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var delay = await RunOnceAsync(stoppingToken);
                await Task.Delay(delay, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The scheme's broker metadata and the endpoint it advertises (<see cref="BrokerEndpoint.Refusal"/> says why there
    /// is none). Null metadata when the scheme is not a broker token scheme.
    /// </summary>
    protected async ValueTask<(BrokerMetadataManager? Metadata, BrokerEndpoint Endpoint)> DiscoverAsync(
        Func<BrokerMetadataManager, CancellationToken, ValueTask<BrokerEndpoint>> advertised, CancellationToken cancellationToken)
    {
        if (jwtBearerOptions.Get(scheme).ConfigurationManager is not BrokerMetadataManager metadata)
        {
            return (null, new BrokerEndpoint(null, $"'{scheme}' is not a broker token scheme (AddBrokerTokens)"));
        }

        // Through GetConfigurationAsync first, so the document's periodic refresh (KeyRefreshInterval) also picks up a
        // changed or newly advertised endpoint.
        await metadata.GetConfigurationAsync(cancellationToken);
        return (metadata, await advertised(metadata, cancellationToken));
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its <c>Accept</c> set to <paramref name="mediaType"/>) and returns the response
    /// once its headers are in, for the caller to read and dispose; or, for a non-2xx status or another media type,
    /// no response and why (<see cref="Refusal"/>).
    /// </summary>
    protected async Task<(HttpResponseMessage? Response, Refusal? Refusal)> GetAsync(
        HttpRequestMessage request, string mediaType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        var response = await httpClientFactory.CreateClient(httpClientName)
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            return (null, new Refusal((int)response.StatusCode, $"HTTP {(int)response.StatusCode}"));
        }

        if (!string.Equals(response.Content.Headers.ContentType?.MediaType, mediaType, StringComparison.OrdinalIgnoreCase))
        {
            response.Dispose();
            return (null, new Refusal(null, $"the response is not {mediaType}"));
        }

        return (response, null);
    }

    /// <summary>
    /// Why an attempt failed, for logs and health: our own messages, never another exception's (it could quote a
    /// response, and nothing here may echo a credential).
    /// </summary>
    protected static string Describe(Exception exception, string whenTimedOut) => exception switch
    {
        BrokerMetadataUnavailableException or SseLimitExceededException or StatusListRejectedException => exception.Message,
        OperationCanceledException => whenTimedOut,
        _ => exception.GetType().Name,
    };

    /// <summary>A GET the broker answered with a status that is not 2xx (<paramref name="Status"/>) or another media type.</summary>
    protected sealed record Refusal(int? Status, string Reason);
}
