// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// The workload's X509-SVID and X.509 bundles, kept current from the Workload API (go-spiffe's X509Source).
/// </summary>
/// <remarks>
/// <see cref="CreateAsync"/> returns once the first update has arrived. Afterwards every getter returns the
/// latest complete snapshot; <see cref="Updated"/> fires after each change. When the Workload API reports
/// PermissionDenied (no identity), the SVID and bundles are dropped and getters fail until a new update
/// arrives (spec §1). Thread-safe.
/// </remarks>
public sealed class X509Source : IX509BundleSource, IAsyncDisposable
{
    private const string Name = "x509source";

    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly Func<IReadOnlyList<X509Svid>, X509Svid> _picker;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SourceWatch<X509Context> _watch;
    private int _disposed;

    private X509Source(X509SourceOptions options)
    {
        _ownsClient = options.Client is null;
        _client = options.Client ?? new WorkloadApiClient(options.ClientOptions ?? new WorkloadApiClientOptions { LoggerFactory = options.LoggerFactory });
        _picker = options.SvidPicker ?? (svids => svids[0]);
        _logger = options.LoggerFactory?.CreateLogger<X509Source>() ?? (ILogger)NullLogger.Instance;
        _watch = new SourceWatch<X509Context>(Name, _logger, RaiseUpdated);
    }

    /// <summary>Raised after each change (new SVID or bundles, or their removal). Handlers must not block.</summary>
    public event EventHandler? Updated;

    /// <summary>Starts watching and waits for the first update.</summary>
    /// <exception cref="WorkloadApiException">The Workload API failed with a non-retryable error before the first update.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static async Task<X509Source> CreateAsync(X509SourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        var source = new X509Source(options ?? new X509SourceOptions());
        try
        {
            source._watch.Start(source._client.WatchX509ContextAsync, source._stop.Token);
            await source._watch.FirstUpdate.WaitAsync(cancellationToken).ConfigureAwait(false);
            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The latest complete update, or null while the workload has no identity.</summary>
    public X509Context? Current => _watch.Current;

    /// <summary>Gets the current SVID (chosen by the picker).</summary>
    /// <exception cref="InvalidOperationException">There is no SVID now (no identity, or the source is closed).</exception>
    public X509Svid GetX509Svid() =>
        TryGetX509Svid(out var svid) ? svid : throw new InvalidOperationException("x509source: no X509-SVID available.");

    /// <summary>Gets the current SVID, if there is one.</summary>
    public bool TryGetX509Svid([NotNullWhen(true)] out X509Svid? svid)
    {
        var context = Volatile.Read(ref _disposed) == 0 ? _watch.Current : null;
        svid = context is null ? null : _picker(context.Svids);
        return svid is not null;
    }

    /// <inheritdoc />
    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = null;
        var context = Volatile.Read(ref _disposed) == 0 ? _watch.Current : null;
        return context is not null && context.Bundles.TryGetX509Bundle(trustDomain, out bundle);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.Completion.ConfigureAwait(false);
        _stop.Dispose();
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void RaiseUpdated() => SourceEvents.Raise(Updated, this, _logger, Name);
}
