using Broker.Grants;
using Broker.Grants.InMemory;
using Broker.Audit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The real broker on real Kestrel, bound to a free loopback port, configured in memory.
/// </summary>
public sealed class BrokerTestHost : IAsyncDisposable
{
    public const string Issuer = "https://broker.test";

    private readonly WebApplication _app;
    private int _disposed;

    private BrokerTestHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Every audit event the broker wrote to its (in-memory) store.</summary>
    internal IReadOnlyCollection<AuditEvent> AuditTrail => ((InMemoryGrantStore)Services.GetRequiredService<IGrantStore>()).AuditTrail;

    public static async Task<BrokerTestHost> StartAsync(
        string policyDirectory,
        Action<Dictionary<string, string?>>? configure = null,
        Action<IServiceCollection>? services = null,
        bool https = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Issuer"] = Issuer,
            ["Broker:Policy:Path"] = policyDirectory,
            ["Broker:Policy:AllowInsecureLoopbackUrls"] = "true",
            ["Broker:Policy:ReloadDebounce"] = "00:00:00.100",
            ["Broker:Keys:AllowEphemeralKey"] = "true",
            ["Broker:Subjects:MinimumKeyRefreshInterval"] = "00:00:01",

            // Every test client is 127.0.0.1, and bad-input corpora fail on purpose far more often than a real
            // client would: the per-address failure limit is tested by its own tests, with small limits.
            ["Broker:RateLimits:FailedAuthentication:Limit"] = "100000",

            // Likewise one test identity may exchange far faster than a real workload (races, corpora): the
            // per-identity limit is tested by its own tests, which set their limits.
            ["Broker:RateLimits:PerIdentity"] = "100000/s",
        };
        configure?.Invoke(settings);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (https)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.UseUrls(https ? "https://127.0.0.1:0" : "http://127.0.0.1:0");
        services?.Invoke(builder.Services);
        builder.Services.AddBroker(builder.Configuration).AddTelemetryExport();

        var app = builder.Build();
        app.UseBroker();
        app.MapBroker();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A host that refuses to start (a test may expect it to) still lets go of its port and services.
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new BrokerTestHost(app, new Uri(address));
    }

    /// <summary>Stops the broker (hosted services flush and close); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
