using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Broker.Telemetry;

/// <summary>
/// The Prometheus scrape endpoint on a listener of its own (<see cref="PrometheusOptions.Port"/>): a second, minimal
/// Kestrel server that answers <c>GET {Path}</c> from the broker's <see cref="MeterProvider"/> and 404 to anything
/// else. Kept apart from the public listener so metrics are not served to the internet by default, and so the
/// broker's own listener configuration (URLs, Kestrel endpoints, TLS) stays untouched.
/// </summary>
internal sealed class PrometheusScrapeServer(MeterProvider meterProvider, IOptions<TelemetryOptions> options, ILogger<PrometheusScrapeServer> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The listener's address once started (with the port chosen when <see cref="PrometheusOptions.Port"/> is 0).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.Prometheus;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            // Plain HTTP: scrapers inside the cluster, kept to this port by the network policy.
            if (settings.BindAddress == "*")
            {
                kestrel.ListenAnyIP(settings.Port);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(settings.BindAddress), settings.Port);
            }

            // A scrape is one small GET: bound what a client can make this listener hold.
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.AddServerHeader = false;
        });

        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null!, settings.Path, configureBranchedPipeline: null!, optionsName: null!);
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Address = new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal));
        Log.PrometheusEndpointListening(logger, address + settings.Path);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }
}
