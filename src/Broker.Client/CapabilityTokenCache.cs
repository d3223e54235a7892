// Broker.Client — the agent side of the Broker.

using Broker.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Client;

/// <summary>
/// Capability tokens by request, reused until shortly before they expire. Thread-safe; concurrent callers
/// asking for the same request share one exchange.
/// </summary>
/// <remarks>
/// A token is replaced when less than <see cref="BrokerClientOptions.RefreshMargin"/> or
/// <see cref="BrokerClientOptions.RefreshFraction"/> of its lifetime is left, whichever is larger. The key is
/// the resolved request: resource, audience, capabilities as a set, task ID, purpose and lifetime. A failed
/// exchange is not cached. The cache holds at most <see cref="BrokerClientOptions.MaxCachedTokens"/> tokens
/// plus the exchanges in flight.
/// </remarks>
public sealed class CapabilityTokenCache : IDisposable
{
    private readonly Func<BrokerClient> _client;
    private readonly BrokerClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();

    /// <summary>Creates a cache in front of <paramref name="client"/>.</summary>
    /// <param name="client">The client that performs exchanges; its options set the refresh rule and bound.</param>
    /// <param name="timeProvider">Clock for expiry; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="logger">Logger; none by default.</param>
    public CapabilityTokenCache(BrokerClient client, TimeProvider? timeProvider = null, ILogger<CapabilityTokenCache>? logger = null)
        : this(() => client, (client ?? throw new ArgumentNullException(nameof(client))).Options, timeProvider, logger)
    {
    }

    /// <summary>
    /// For dependency injection: the client is resolved per exchange, so the cache (a singleton) does not pin one
    /// typed <see cref="HttpClient"/> and its handler for the life of the process.
    /// </summary>
    internal CapabilityTokenCache(Func<BrokerClient> client, BrokerClientOptions options, TimeProvider? timeProvider, ILogger? logger)
    {
        _client = client;
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Number of cached tokens and exchanges in flight.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Gets a token for <paramref name="request"/>: the cached one while it is fresh, otherwise a new one.</summary>
    /// <param name="request">What the token is for; task ID, purpose and lifetime default from the options.</param>
    /// <param name="cancellationToken">
    /// Stops this caller waiting. An exchange shared with other callers goes on; it is bounded by the
    /// <see cref="HttpClient"/> timeout.
    /// </param>
    /// <exception cref="ArgumentException">The request names no target, or has no task ID or purpose.</exception>
    /// <exception cref="BrokerExchangeException">The broker refused the exchange.</exception>
    public async Task<CapabilityToken> GetTokenAsync(CapabilityRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        var resolved = request.Resolve(_options);
        var key = resolved.CacheKey;

        Task<CapabilityToken> pending;
        TaskCompletionSource<CapabilityToken>? owner = null;
        Entry? entry;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out entry))
            {
                if (entry.Token is { } token && _timeProvider.GetUtcNow() < entry.RefreshAt)
                {
                    return token;
                }
            }
            else
            {
                MakeRoom();
                entry = new Entry();
                _entries.Add(key, entry);
            }

            if (entry.Pending is null)
            {
                // Single flight: the first caller starts the exchange, outside the lock; the others await it.
                owner = new TaskCompletionSource<CapabilityToken>(TaskCreationOptions.RunContinuationsAsynchronously);
                entry.Pending = owner.Task;
            }

            pending = entry.Pending;
        }

        if (owner is not null)
        {
            _ = ExchangeAsync(key, resolved, entry, owner);
        }

        return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Drops the cached token for <paramref name="request"/>, for example after a resource server refused it, so
    /// that the next call exchanges again.
    /// </summary>
    /// <param name="request">The request the token was obtained for.</param>
    /// <param name="token">
    /// The refused token. When given, the entry is dropped only if it still holds this token, so a token another
    /// caller has already replaced is kept.
    /// </param>
    public void Invalidate(CapabilityRequest request, CapabilityToken? token = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = request.Resolve(_options).CacheKey;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var entry) && entry.Token is not null && (token is null || ReferenceEquals(entry.Token, token)))
            {
                entry.Token = null;
                if (entry.Pending is null)
                {
                    _entries.Remove(key);
                }
            }
        }
    }

    /// <summary>Cancels exchanges in flight and empties the cache.</summary>
    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        lock (_lock)
        {
            _entries.Clear();
        }

        _disposed.Dispose();
    }

    private async Task ExchangeAsync(string key, CapabilityRequest request, Entry entry, TaskCompletionSource<CapabilityToken> owner)
    {
        try
        {
            // Not the caller's token: one caller giving up must not fail the others waiting on this exchange.
            var token = await _client().ExchangeAsync(request, _disposed.Token).ConfigureAwait(false);
            lock (_lock)
            {
                var margin = TimeSpan.FromTicks(Math.Max(_options.RefreshMargin.Ticks, (long)(token.Lifetime.Ticks * _options.RefreshFraction)));
                entry.Token = token;
                entry.RefreshAt = token.ExpiresAt - margin;
                entry.Pending = null;
            }

            owner.SetResult(token);
        }
#pragma warning disable CA1031 // Every failure goes to the callers awaiting this exchange.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            lock (_lock)
            {
                entry.Pending = null;

                // A failure is not cached: the next caller tries again.
                if (entry.Token is null && _entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(key);
                }
            }

            owner.SetException(ex);
        }
    }

    /// <summary>Called under the lock before adding an entry.</summary>
    private void MakeRoom()
    {
        if (_entries.Count < _options.MaxCachedTokens)
        {
            return;
        }

        var now = _timeProvider.GetUtcNow();
        var before = _entries.Count;
        foreach (var (key, entry) in _entries.Where(e => e.Value.Pending is null && (e.Value.Token is null || e.Value.Token.ExpiresAt <= now)).ToList())
        {
            _entries.Remove(key);
        }

        // Still full: drop the token that would have been replaced soonest. Exchanges in flight stay.
        while (_entries.Count >= _options.MaxCachedTokens)
        {
            var victim = _entries.Where(e => e.Value.Pending is null).OrderBy(e => e.Value.RefreshAt).Select(e => e.Key).FirstOrDefault();
            if (victim is null)
            {
                break;
            }

            _entries.Remove(victim);
        }

        Log.CacheEvicted(_logger, before, before - _entries.Count);
    }

    private sealed class Entry
    {
        public CapabilityToken? Token { get; set; }

        public DateTimeOffset RefreshAt { get; set; }

        public Task<CapabilityToken>? Pending { get; set; }
    }
}
