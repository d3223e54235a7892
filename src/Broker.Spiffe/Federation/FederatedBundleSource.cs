// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using Broker.Spiffe.Bundles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Spiffe.Federation;

/// <summary>
/// A foreign trust domain's bundle, polled from its bundle endpoint every <c>spiffe_refresh_hint</c> (else, or when
/// the hint is 0, <see cref="BundleEndpointOptions.DefaultRefreshInterval"/>). On failure the latest bundle stays in
/// force and the next attempt waits for the next interval; a bundle with a lower <c>spiffe_sequence</c> than the
/// current one is refused (spec §4), and <see cref="RefusedSequence"/> says so until a bundle is accepted again.
/// Serves only its own trust domain. Thread-safe.
/// </summary>
public sealed class FederatedBundleSource : IX509BundleSource, IJwtBundleSource, IAsyncDisposable
{
    private readonly BundleEndpointOptions _options;
    private readonly BundleEndpointClient _client;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private SpiffeBundle _current;
    private Task _loop = Task.CompletedTask;

    // UTC ticks of the last fetch that confirmed the bundle in force; 0 before any. Ticks, so readers see a whole value.
    private long _lastRefreshedTicks;

    // The spiffe_sequence of the last refused bundle, or -1 (sequences are non-negative).
    private long _refusedSequence = -1;

    private FederatedBundleSource(BundleEndpointOptions options, BundleEndpointClient client, SpiffeBundle initial, DateTimeOffset? fetchedAt, ILogger logger)
    {
        _options = options;
        _client = client;
        _current = initial;
        _lastRefreshedTicks = fetchedAt?.UtcTicks ?? 0;
        _logger = logger;
    }

    /// <summary>Raised after the bundle changes (not after a poll that returned the same bundle). Handlers must not block.</summary>
    public event EventHandler? Updated;

    /// <summary>The bundle in force.</summary>
    public SpiffeBundle Current => Volatile.Read(ref _current);

    /// <summary>
    /// When a fetch last confirmed the bundle in force: it brought it, or brought it again unchanged. Null when the
    /// source started from <see cref="BundleEndpointOptions.InitialBundle"/> and no fetch has succeeded since. A refused
    /// (older) bundle does not count: past a few <see cref="RefreshInterval"/>s without a confirmation, the bundle in
    /// force may lack keys the trust domain already uses.
    /// </summary>
    public DateTimeOffset? LastRefreshed => Volatile.Read(ref _lastRefreshedTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>
    /// The <c>spiffe_sequence</c> of the newest fetch, when it was lower than that of the bundle in force and so refused
    /// (a publisher that rolled back, or a replayed old bundle); null once a fetch is accepted again.
    /// </summary>
    public long? RefusedSequence => Volatile.Read(ref _refusedSequence) is var sequence and >= 0 ? sequence : null;

    /// <summary>The polling interval in force: the bundle's hint, else the default, at least the minimum.</summary>
    public TimeSpan RefreshInterval
    {
        get
        {
            // A hint of 0 asks for no particular interval (it cannot mean "poll without pause"): the default applies.
            var interval = Current.RefreshHint is { } hint && hint > TimeSpan.Zero ? hint : _options.DefaultRefreshInterval;
            return interval < _options.MinRefreshInterval ? _options.MinRefreshInterval : interval;
        }
    }

    /// <summary>
    /// Fetches the bundle once and starts polling. If the first fetch fails, an <c>https_spiffe</c> source starts
    /// from <see cref="BundleEndpointOptions.InitialBundle"/>; otherwise the error is thrown.
    /// </summary>
    /// <exception cref="BundleEndpointException">The first fetch failed and there is no initial bundle.</exception>
    /// <exception cref="SpiffeBundleFormatException">The first fetch returned an invalid bundle and there is no initial bundle.</exception>
    public static async Task<FederatedBundleSource> CreateAsync(BundleEndpointOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = new BundleEndpointClient(options);
        var logger = options.LoggerFactory?.CreateLogger<FederatedBundleSource>() ?? (ILogger)NullLogger.Instance;
        SpiffeBundle initial;
        DateTimeOffset? fetchedAt = null;
        try
        {
            initial = await client.FetchAsync(cancellationToken).ConfigureAwait(false);
            fetchedAt = options.TimeProvider.GetUtcNow();
        }
        catch (Exception ex) when (ex is BundleEndpointException or SpiffeBundleFormatException && options.InitialBundle is not null)
        {
            Log.InitialFetchFailed(logger, options.TrustDomain.Name, ex);
            initial = options.InitialBundle;
        }
        catch
        {
            client.Dispose();
            throw;
        }

        var source = new FederatedBundleSource(options, client, initial, fetchedAt, logger);
        source._loop = Task.Run(() => source.RefreshLoopAsync(options.TimeProvider.GetUtcNow()), CancellationToken.None);
        return source;
    }

    /// <inheritdoc />
    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = trustDomain == _options.TrustDomain ? Current.X509Bundle : null;
        return bundle is not null;
    }

    /// <inheritdoc />
    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = trustDomain == _options.TrustDomain ? Current.JwtBundle : null;
        return bundle is not null;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _client.Dispose();
    }

    private async Task RefreshLoopAsync(DateTimeOffset lastAttempt)
    {
        var time = _options.TimeProvider;
        var token = _stop.Token;
        try
        {
            while (true)
            {
                // Absolute due time, so a clock that jumps while we are not yet waiting still triggers the poll.
                var delay = lastAttempt + RefreshInterval - time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, token).ConfigureAwait(false);
                }

                lastAttempt = time.GetUtcNow();
                try
                {
                    Apply(await _client.FetchAsync(token).ConfigureAwait(false), time.GetUtcNow());
                }
#pragma warning disable CA1031 // Whatever goes wrong in one poll, the loop must live to poll again.
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    Log.FetchFailed(_logger, _options.TrustDomain.Name, RefreshInterval, ex);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private void Apply(SpiffeBundle fetched, DateTimeOffset fetchedAt)
    {
        var current = Current;
        if (fetched.SequenceNumber < current.SequenceNumber)
        {
            // Spec §4 (Federation §4.2, managing fetched bundles): the sequence only grows, so a lower one is an old
            // bundle (a rollback, a replay, a stale cache in front of the endpoint) that could bring back removed keys.
            // Logged before the refusal shows (readiness reads it): whoever sees it finds its log line.
            Log.StaleBundleIgnored(_logger, _options.TrustDomain.Name, fetched.SequenceNumber!.Value, current.SequenceNumber!.Value);
            Volatile.Write(ref _refusedSequence, fetched.SequenceNumber!.Value);
            return;
        }

        Volatile.Write(ref _refusedSequence, -1);
        Volatile.Write(ref _lastRefreshedTicks, fetchedAt.UtcTicks);
        if (string.Equals(fetched.ToJson(), current.ToJson(), StringComparison.Ordinal))
        {
            // Unchanged: no event, so subscribers only hear about real changes.
            return;
        }

        Log.BundleUpdated(_logger, _options.TrustDomain.Name, fetched.SequenceNumber);
        Volatile.Write(ref _current, fetched);
        var handler = Updated;
        if (handler is null)
        {
            return;
        }

        foreach (var single in handler.GetInvocationList().Cast<EventHandler>())
        {
            try
            {
                single(this, EventArgs.Empty);
            }
#pragma warning disable CA1031 // A subscriber's bug must not stop bundle refresh.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.UpdateHandlerFailed(_logger, ex);
            }
        }
    }
}
