// Broker.Spiffe — SPIFFE for .NET.

using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// JWT-SVIDs and JWT bundles from the Workload API. The bundles are watched and kept current; JWT-SVIDs are
/// fetched on demand and cached per (subject, audience set) until half their lifetime has passed, the same
/// rule SPIRE uses to reissue them (spec §6), so a hot path does not call the agent for every request.
/// </summary>
public sealed class JwtSource : IJwtBundleSource, IAsyncDisposable
{
    private const string Name = "jwtsource";

    private readonly WorkloadApiClient _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SourceWatch<JwtBundleSet> _bundles;
    private readonly ConcurrentDictionary<string, CachedSvid> _cache = new(StringComparer.Ordinal);
    private int _disposed;

    private JwtSource(WorkloadApiSourceOptions options)
    {
        _ownsClient = options.Client is null;
        _client = options.Client ?? new WorkloadApiClient(options.ClientOptions ?? new WorkloadApiClientOptions { LoggerFactory = options.LoggerFactory });
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger<JwtSource>() ?? (ILogger)NullLogger.Instance;
        _bundles = new SourceWatch<JwtBundleSet>(Name, _logger, OnBundlesChanged);
    }

    /// <summary>Raised after each change of the JWT bundles. Handlers must not block.</summary>
    public event EventHandler? Updated;

    /// <summary>Starts watching the JWT bundles and waits for the first update.</summary>
    /// <exception cref="WorkloadApiException">A non-retryable error before the first update.</exception>
    public static async Task<JwtSource> CreateAsync(WorkloadApiSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        var source = new JwtSource(options ?? new WorkloadApiSourceOptions());
        try
        {
            source._bundles.Start(source._client.WatchJwtBundlesAsync, source._stop.Token);
            await source._bundles.FirstUpdate.WaitAsync(cancellationToken).ConfigureAwait(false);
            return source;
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Gets a JWT-SVID for the audience (plus extra audiences), reusing a cached one until half its lifetime
    /// has passed.
    /// </summary>
    /// <exception cref="WorkloadApiException">The Workload API call failed.</exception>
    /// <exception cref="ObjectDisposedException">The source is closed.</exception>
    public async Task<JwtSvid> FetchJwtSvidAsync(string audience, IEnumerable<string>? extraAudiences = null, SpiffeId? subject = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(audience);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var extras = extraAudiences?.ToArray() ?? [];
        var key = CacheKey(audience, extras, subject);
        var now = _timeProvider.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now < cached.RefreshAt)
        {
            return cached.Svid;
        }

        var svid = await _client.FetchJwtSvidAsync(audience, extras, subject, cancellationToken).ConfigureAwait(false);
        var issued = svid.Token.TryGetPayloadValue<long>("iat", out var iat) ? DateTimeOffset.FromUnixTimeSeconds(iat) : now;
        if (issued > now)
        {
            issued = now;
        }

        _cache[key] = new CachedSvid(svid, issued + ((svid.Expiry - issued) / 2));
        return svid;
    }

    /// <summary>Validates a JWT-SVID against this source's current bundles (see <see cref="JwtSvid.Validate(string, Bundles.IJwtBundleSource, IReadOnlyCollection{string}, JwtSvidValidationOptions?)"/>).</summary>
    public JwtSvidValidationResult Validate(string token, IReadOnlyCollection<string> audiences, JwtSvidValidationOptions? options = null) =>
        JwtSvid.Validate(token, this, audiences, options);

    /// <inheritdoc />
    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = null;
        var set = Volatile.Read(ref _disposed) == 0 ? _bundles.Current : null;
        return set is not null && set.TryGetJwtBundle(trustDomain, out bundle);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _cache.Clear();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _bundles.Completion.ConfigureAwait(false);
        _stop.Dispose();
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string CacheKey(string audience, string[] extras, SpiffeId? subject)
    {
        // The audience set, not its order, decides which token fits.
        var audiences = extras.Append(audience).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return (subject?.ToString() ?? string.Empty) + "\n" + string.Join('\n', audiences);
    }

    private void OnBundlesChanged()
    {
        if (_bundles.Current is null)
        {
            // No identity any more: cached SVIDs must not be handed out either (spec §1).
            _cache.Clear();
        }

        SourceEvents.Raise(Updated, this, _logger, Name);
    }

    private sealed record CachedSvid(JwtSvid Svid, DateTimeOffset RefreshAt);
}
