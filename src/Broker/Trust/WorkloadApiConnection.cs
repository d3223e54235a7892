using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.WorkloadApi;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

/// <summary>
/// The broker's connection to its SPIFFE Workload API: live trust bundles (its own trust domain and
/// federated ones) for <c>bundle: workload_api</c>, and, with <c>ServeTls</c>, its own X509-SVID for
/// HTTPS. Both follow rotation pushed on the Workload API streams.
/// </summary>
internal sealed class WorkloadApiConnection(IOptions<SpiffeAgentOptions> options, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    : IWorkloadApiBundleSource, IHostedService, IAsyncDisposable
{
    private readonly SpiffeAgentOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<WorkloadApiConnection>();
    private BundleSource? _bundles;
    private X509Source? _x509;

    /// <summary>True once the first bundles (and, with TLS, the first SVID) arrived.</summary>
    public bool IsReady => _bundles is not null && (!_options.ServeTls || _x509?.Current is not null);

    /// <summary>The broker's current X509-SVID with its private key, for the TLS handshake.</summary>
    public X509Certificate2? CurrentCertificate => _x509 is not null && _x509.TryGetX509Svid(out var svid) ? svid.Certificate : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = _options.ResolvedEndpoint;
        if (endpoint is null)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartupTimeout);
        var clientOptions = new WorkloadApiClientOptions { Address = WorkloadApiAddress.Parse(endpoint), LoggerFactory = loggerFactory, TimeProvider = timeProvider };
        try
        {
            _bundles = await BundleSource.CreateAsync(new WorkloadApiSourceOptions { ClientOptions = clientOptions, LoggerFactory = loggerFactory, TimeProvider = timeProvider }, timeout.Token);
            if (_options.ServeTls)
            {
                _x509 = await X509Source.CreateAsync(new X509SourceOptions { ClientOptions = clientOptions, LoggerFactory = loggerFactory, TimeProvider = timeProvider }, timeout.Token);
                Log.SvidReady(_logger, _x509.GetX509Svid().Id.ToString());
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"The SPIFFE Workload API at {endpoint} gave no identity within {_options.StartupTimeout.TotalSeconds:0} s.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = null;
        return _bundles is not null && _bundles.TryGetJwtBundle(trustDomain, out bundle);
    }

    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = null;
        return _bundles is not null && _bundles.TryGetX509Bundle(trustDomain, out bundle);
    }

    public async ValueTask DisposeAsync()
    {
        if (_x509 is not null)
        {
            await _x509.DisposeAsync();
        }

        if (_bundles is not null)
        {
            await _bundles.DisposeAsync();
        }
    }
}
