// Broker.Validation — resource servers honour broker tokens.

using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>
/// Follows the broker's revocation feed (docs/mcp.md "The revocation feed"): discovers
/// <c>revocation_events_endpoint</c> in the broker's RFC 8414 metadata, holds a server-sent-events connection with this
/// server's workload credential, applies <c>revoked</c> and <c>reset</c> events to the <see cref="RevokedGrantSet"/>,
/// reports every event and heartbeat as freshness (<see cref="RevokedGrantSet.MarkCurrent"/>), and reconnects with
/// backoff and jitter, resuming with <c>Last-Event-ID</c>.
/// </summary>
internal sealed class RevocationFeedClient : BrokerEndpointClient
{
    public const string HttpClientName = "Broker.Validation.RevocationFeed";

    private readonly RevocationFeedOptions _options;
    private readonly IOptionsMonitor<BrokerTokenOptions> _brokerOptions;
    private readonly RevokedGrantSet _set;
    private readonly ILogger _logger;
    private long _lastHeardTicks = long.MinValue;
    private int _connected;
    private string? _lastEventId;
    private int _failures;
    private TimeSpan? _retry;

    public RevocationFeedClient(
        IOptions<RevocationFeedOptions> options,
        IOptionsMonitor<BrokerTokenOptions> brokerOptions,
        IOptionsMonitor<JwtBearerOptions> jwtBearerOptions,
        RevokedGrantSet set,
        IHttpClientFactory httpClientFactory,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
        : base(options.Value.Scheme, jwtBearerOptions, httpClientFactory, HttpClientName, timeProvider)
    {
        _options = options.Value;
        _brokerOptions = brokerOptions;
        _set = set;
        _logger = loggerFactory.CreateLogger("Broker.Validation.RevocationFeed");
    }

    /// <summary>True while a stream is open.</summary>
    public bool Connected => Volatile.Read(ref _connected) != 0;

    /// <summary>When the open stream last delivered anything (event, heartbeat, retry); null when never.</summary>
    public DateTimeOffset? LastHeard
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastHeardTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>The position resumed from on the next connection: the <c>id</c> of the last event applied.</summary>
    public string? LastEventId => Volatile.Read(ref _lastEventId);

    /// <summary>Connected and heard from within <see cref="RevocationFeedOptions.FreshnessWindow"/>.</summary>
    public bool IsFresh => Connected && LastHeard is { } heard && TimeProvider.GetUtcNow() - heard <= _options.FreshnessWindow;

    protected override async Task<TimeSpan> RunOnceAsync(CancellationToken stoppingToken)
    {
        Uri? endpoint = null;
        string reason;
        int? refusedWith = null;
        var opened = false;
        try
        {
            // The scheme's own metadata: the feed URL comes from the same document, fetched from the configured broker
            // only, and must be on the broker's origin (our credential goes there).
            var (_, advertised) = await DiscoverAsync((m, ct) => m.GetRevocationEventsEndpointAsync(ct), stoppingToken);
            endpoint = advertised.Uri;
            if (endpoint is null)
            {
                reason = advertised.Refusal!;
            }
            else
            {
                (opened, reason, refusedWith) = await FollowAsync(endpoint, r => _retry = r, stoppingToken);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException
            or BrokerMetadataUnavailableException or OperationCanceledException or InvalidOperationException
            && !(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
        {
            // A stream that opened and then broke counts as opened (the backoff starts over).
            opened = Connected;
            reason = Describe(ex, $"nothing heard for {_options.FreshnessWindow}");
        }
        finally
        {
            Volatile.Write(ref _connected, 0);
        }

        // A stream that opened and then ended is the broker rebalancing: wait its retry:. Failures back off
        // exponentially from there; jitter spreads the reconnections of many servers after a broker restart.
        _failures = opened ? 0 : _failures + 1;
        var delay = Backoff.Next(_retry ?? _options.InitialReconnectDelay, _failures, _options.MaxReconnectDelay);
        if (refusedWith is { } status && endpoint is not null)
        {
            Log.Refused(_logger, endpoint, status, delay);
        }
        else if (opened)
        {
            Log.Disconnected(_logger, endpoint, reason, delay);
        }
        else
        {
            Log.Unavailable(_logger, reason, delay);
        }

        return delay;
    }

    /// <summary>One connection, until it ends. Returns whether it opened, why it ended, and the status of a refusal.</summary>
    private async Task<(bool Opened, string Reason, int? RefusedWith)> FollowAsync(Uri endpoint, Action<TimeSpan> setRetry, CancellationToken stoppingToken)
    {
        var credential = _options.Credential!;
        var token = await credential(stoppingToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        var resumeFrom = LastEventId;
        if (!string.IsNullOrEmpty(resumeFrom))
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", resumeFrom);
        }

        // Silence for longer than the freshness window (connecting included) drops the connection: a half-open TCP
        // connection must not keep this server "connected" while revocations go unheard.
        using var idle = new CancellationTokenSource(_options.FreshnessWindow, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, idle.Token);
        var (answer, refusal) = await GetAsync(request, "text/event-stream", linked.Token);
        if (answer is null)
        {
            return (false, refusal!.Reason, refusal.Status);
        }

        using var response = answer;

        await using var body = await response.Content.ReadAsStreamAsync(linked.Token);
        using var reader = new SseReader(body, _options.MaxLineLength, _options.MaxEventLength);
        var skew = _brokerOptions.Get(_options.Scheme).ClockSkew;
        var openedAt = TimeProvider.GetUtcNow();
        Volatile.Write(ref _connected, 1);
        Log.Connected(_logger, endpoint, resumeFrom);
        if (string.IsNullOrEmpty(resumeFrom) && _options.RefuseTokensIssuedBeforeGap)
        {
            // Without a position the broker replays nothing ("from now"): a grant revoked before this moment may
            // never reach us. Same treatment as a reset (below), from the start of this connection's second.
            var since = DateTimeOffset.FromUnixTimeSeconds(openedAt.ToUnixTimeSeconds());
            _set.RefuseIssuedBefore(since, since + _options.MaxTokenLifetime + skew);
        }

        // The set is current only once the broker says the history is sent (ready): a revocation replayed after a
        // reconnection must not meet a request that the set already vouched for.
        var caughtUp = false;
        while (await reader.ReadAsync(linked.Token) is { } record)
        {
            idle.CancelAfter(_options.FreshnessWindow);
            switch (record.Kind)
            {
                case SseRecordKind.Retry:
                    setRetry(record.Retry < _options.MaxReconnectDelay ? record.Retry : _options.MaxReconnectDelay);
                    break;
                case SseRecordKind.Event:
                    if (!Apply(record, skew))
                    {
                        // Some grant was revoked and we cannot tell which: treated as a reset from now, rather than
                        // reconnecting to the same unreadable event forever (or skipping it and trusting its grant).
                        var unknownSince = TimeProvider.GetUtcNow();
                        _set.RefuseIssuedBefore(unknownSince, unknownSince + _options.MaxTokenLifetime + skew);
                        Log.BadEvent(_logger, record.Type.Length > 32 ? record.Type[..32] : record.Type);
                    }

                    if (record.Id.Length > 0)
                    {
                        Volatile.Write(ref _lastEventId, record.Id);
                    }

                    break;
                default:
                    break;
            }

            // After ready, every event and heartbeat says the set holds every revocation up to now.
            var now = TimeProvider.GetUtcNow();
            Interlocked.Exchange(ref _lastHeardTicks, now.UtcTicks);
            caughtUp |= record.Kind == SseRecordKind.Event && record.Type == "ready";
            if (caughtUp)
            {
                _set.MarkCurrent(now);
            }
        }

        return (true, "the broker closed the stream", null);
    }

    /// <summary>False for an event that names a revocation we cannot read.</summary>
    private bool Apply(SseRecord record, TimeSpan skew)
    {
        try
        {
            return ApplyCore(record, skew);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool ApplyCore(SseRecord record, TimeSpan skew)
    {
        switch (record.Type)
        {
            case "revoked":
            {
                using var json = JsonDocument.Parse(record.Data);
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("grant_id", out var grantId) || grantId.ValueKind != JsonValueKind.String
                    || grantId.GetString() is not { Length: > 0 } id)
                {
                    return false;
                }

                // exp: the grant's last token expires then. Without it, keep for the longest token lifetime from
                // the revocation (or from now, whichever is later: our clock and the broker's may differ).
                DateTimeOffset keepUntil;
                if (root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetInt64(out var expSeconds))
                {
                    keepUntil = FromUnixSeconds(expSeconds) + skew;
                }
                else if (!root.TryGetProperty("exp", out exp) || exp.ValueKind == JsonValueKind.Null)
                {
                    var from = TimeProvider.GetUtcNow();
                    if (root.TryGetProperty("revoked_at", out var revokedAt) && revokedAt.TryGetInt64(out var revokedSeconds)
                        && FromUnixSeconds(revokedSeconds) > from)
                    {
                        from = FromUnixSeconds(revokedSeconds);
                    }

                    keepUntil = from + _options.MaxTokenLifetime + skew;
                }
                else
                {
                    return false;
                }

                if (!_set.Add(id, keepUntil))
                {
                    Log.SetFull(_logger);
                }

                Log.Applied(_logger, id, record.Id);
                return true;
            }

            case "reset":
            {
                using var json = JsonDocument.Parse(record.Data);
                var root = json.RootElement;
                var reason = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "unspecified";
                // Without a readable since, everything issued until now may have been missed.
                var since = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("since", out var s) && s.TryGetInt64(out var sinceSeconds)
                    ? FromUnixSeconds(sinceSeconds)
                    : TimeProvider.GetUtcNow();
                var until = since + _options.MaxTokenLifetime + skew;
                _set.RefuseIssuedBefore(since, until);
                Log.Reset(_logger, reason.Length > 64 ? reason[..64] : reason, since, until);
                return true;
            }

            case "capability_withdrawn":
            {
                // The capability was withdrawn from the broker's catalog: its tokens issued until then are refused
                // until `until` (when the last of them expires; without it, the longest token lifetime from now).
                using var json = JsonDocument.Parse(record.Data);
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("capability", out var capability) || capability.ValueKind != JsonValueKind.String
                    || capability.GetString() is not { Length: > 0 } name
                    || !root.TryGetProperty("withdrawn_at", out var at) || !at.TryGetInt64(out var atSeconds))
                {
                    return false;
                }

                var until = root.TryGetProperty("until", out var u) && u.TryGetInt64(out var untilSeconds)
                    ? FromUnixSeconds(untilSeconds) + skew
                    : TimeProvider.GetUtcNow() + _options.MaxTokenLifetime + skew;
                if (!_set.WithdrawCapability(name, FromUnixSeconds(atSeconds), until))
                {
                    Log.SetFull(_logger);
                }

                Log.CapabilityWithdrawn(_logger, name.Length > 128 ? name[..128] : name, record.Id);
                return true;
            }

            default:
                // Event types this client does not know are skipped: the protocol may grow.
                return true;
        }
    }

    private static DateTimeOffset FromUnixSeconds(long seconds) =>
        DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, DateTimeOffset.MaxValue.ToUnixTimeSeconds() - 86_400 * 366));
}
