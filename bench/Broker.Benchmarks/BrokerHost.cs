using Broker.Policy;
using Broker.Testing.Bench;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broker.Benchmarks;

/// <summary>
/// The broker's services as <c>AddBroker</c> registers them, in a started generic host without Kestrel:
/// the policy provider and the trust bundle registry (hosted services) have loaded the generated policy
/// directory and its bundle file, so every singleton is exactly what the token endpoint would use.
/// </summary>
internal sealed class BrokerHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _directory;

    private BrokerHost(IHost host, string directory, BenchTrustDomain trustDomain)
    {
        _host = host;
        _directory = directory;
        TrustDomain = trustDomain;
    }

    public BenchTrustDomain TrustDomain { get; }

    public IServiceProvider Services => _host.Services;

    public PolicySet Policy => Services.GetRequiredService<IPolicyProvider>().Current
        ?? throw new InvalidOperationException("The bench policy did not load.");

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Starts a broker over a fresh temporary policy directory.</summary>
    public static Task<BrokerHost> StartAsync(bool validationCache, string? redis = null) =>
        StartAsync(validationCache, redis, static (trustDomain, directory) => trustDomain.WritePolicyDirectory(directory));

    /// <summary>
    /// Starts a broker over a fresh temporary policy directory that <paramref name="writePolicy"/> writes (a generator
    /// such as <see cref="ScalePolicy"/>), trusting the bench trust domain.
    /// </summary>
    public static async Task<BrokerHost> StartAsync(bool validationCache, string? redis, Action<BenchTrustDomain, string> writePolicy)
    {
        ArgumentNullException.ThrowIfNull(writePolicy);
        var directory = Directory.CreateTempSubdirectory("broker-bench-").FullName;
        var trustDomain = new BenchTrustDomain();
        writePolicy(trustDomain, directory);

        // No logging providers: log calls cost what a filtered-out level costs, as in the load test
        // (Logging__LogLevel__Default=Warning, and the hot path logs at Information or below).
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Issuer"] = BenchTrustDomain.Issuer,
            ["Broker:Policy:Path"] = directory,
            ["Broker:Policy:Watch"] = "false",
            ["Broker:Keys:AllowEphemeralKey"] = "true",
            ["Broker:Subjects:ValidationCache:Enabled"] = validationCache ? "true" : "false",
            // The micro-benchmarks present one subject token as fast as the CPU allows: measure the exchange,
            // not the per-identity limit.
            ["Broker:RateLimits:PerIdentity"] = "off",
            ["Broker:Redis:Configuration"] = redis,
        });
        builder.Services.AddLogging();
        builder.Services.AddBroker(builder.Configuration);

        var host = builder.Build();
        await host.StartAsync();
        var broker = new BrokerHost(host, directory, trustDomain);
        _ = broker.Policy;
        return broker;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        TrustDomain.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
