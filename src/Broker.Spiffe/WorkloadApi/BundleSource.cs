// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using Broker.Spiffe.Bundles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// X.509 and JWT bundles kept current from the Workload API, for workloads that verify peers.
/// <see cref="CreateAsync"/> returns once both kinds have arrived. Thread-safe.
/// </summary>
public sealed class BundleSource : IX509BundleSource, IJwtBundleSource, IAsyncDisposable
{
    private const string Name = "bundlesource";

    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SourceWatch<X509BundleSet> _x509;
    private readonly SourceWatch<JwtBundleSet> _jwt;
    private int _disposed;

    private BundleSource(WorkloadApiSourceOptions options)
    {
        _ownsClient = options.Client is null;
        _client = options.Client ?? new WorkloadApiClient(options.ClientOptions ?? new WorkloadApiClientOptions { LoggerFactory = options.LoggerFactory });
        _logger = options.LoggerFactory?.CreateLogger<BundleSource>() ?? (ILogger)NullLogger.Instance;
        _x509 = new SourceWatch<X509BundleSet>(Name, _logger, RaiseUpdated);
        _jwt = new SourceWatch<JwtBundleSet>(Name, _logger, RaiseUpdated);
    }

    /// <summary>Raised after each change of either kind of bundle. Handlers must not block.</summary>
    public event EventHandler? Updated;

    /// <summary>Starts both watches and waits for the first update of each.</summary>
    /// <exception cref="WorkloadApiException">A non-retryable error before the first updates.</exception>
    public static async Task<BundleSource> CreateAsync(WorkloadApiSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        var source = new BundleSource(options ?? new WorkloadApiSourceOptions());
        try
        {
            source._x509.Start(source._client.WatchX509BundlesAsync, source._stop.Token);
            source._jwt.Start(source._client.WatchJwtBundlesAsync, source._stop.Token);
            await Task.WhenAll(source._x509.FirstUpdate, source._jwt.FirstUpdate).WaitAsync(cancellationToken).ConfigureAwait(false);
            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = null;
        var set = Volatile.Read(ref _disposed) == 0 ? _x509.Current : null;
        return set is not null && set.TryGetX509Bundle(trustDomain, out bundle);
    }

    /// <inheritdoc />
    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = null;
        var set = Volatile.Read(ref _disposed) == 0 ? _jwt.Current : null;
        return set is not null && set.TryGetJwtBundle(trustDomain, out bundle);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_x509.Completion, _jwt.Completion).ConfigureAwait(false);
        _stop.Dispose();
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void RaiseUpdated() => SourceEvents.Raise(Updated, this, _logger, Name);
}
