// Broker.Validation — resource servers honour broker tokens.

using System.Net;
using Broker.Validation.Internal;
using Broker.Validation.Revocation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// Publishes the server's tools to the broker's catalog once it has started: retried with backoff while the broker
/// cannot be reached or answers 5xx/429, given up (and logged as an error) on any other refusal, which only an
/// operator can fix (the policy, or the server's declarations). Never stops the server.
/// </summary>
internal sealed class BrokerCatalogPublisher(
    BrokerCatalogClient client,
    IOptions<BrokerMcpCatalogOptions> options,
    IOptions<McpServerOptions> server,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : BackgroundService
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Broker.Validation.Mcp.Catalog");
    private int _published;

    /// <summary>True once the broker accepted the publication.</summary>
    public bool Published => Volatile.Read(ref _published) != 0;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.PublishAtStart || options.Value.Credential is null)
        {
            return;
        }

        await Task.Yield();
        var body = client.PublishBody(server.Value.ToolCollection);
        for (var failures = 0; !stoppingToken.IsCancellationRequested; failures++)
        {
            string reason;
            try
            {
                var status = await client.PublishAsync(body, stoppingToken);
                if (status is HttpStatusCode.OK or HttpStatusCode.Created)
                {
                    Volatile.Write(ref _published, 1);
                    Log.CatalogPublished(_logger, client.Resource ?? "");
                    return;
                }

                if ((int)status < 500 && status != HttpStatusCode.TooManyRequests)
                {
                    Log.CatalogPublishRefused(_logger, client.Resource ?? "", (int)status);
                    return;
                }

                reason = $"HTTP {(int)status}";
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or OperationCanceledException or BrokerMetadataUnavailableException)
            {
                // Never the exception's message: it could quote a response.
                reason = ex.GetType().Name;
            }

            var delay = Backoff.Next(TimeSpan.FromSeconds(1), failures + 1, options.Value.MaxRetryDelay);
            Log.CatalogPublishRetry(_logger, reason, delay);
            try
            {
                await Task.Delay(delay, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
