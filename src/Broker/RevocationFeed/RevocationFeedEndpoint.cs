using System.Globalization;
using System.Text;
using System.Text.Json;
using Broker.Authentication;
using Broker.Errors;
using Broker.Grants;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.RevocationFeed;

/// <summary>
/// <c>GET /revocations/v1/events</c>: the caller's tenant's revocations as server-sent events (WHATWG HTML §9.2),
/// resumable with <c>Last-Event-ID</c>. See <c>docs/revocation-feed.md</c> for the protocol.
/// </summary>
/// <remarks>
/// The live subscription is opened before the history is read, so a revocation made while the history is being
/// sent is either in the history or in the subscription's buffer; positions already sent are skipped, so none is
/// sent twice or out of order. Written by hand rather than with <c>TypedResults.ServerSentEvents</c>: that result
/// cannot write the opening comment, the <c>retry</c> field or heartbeat comments the protocol fixes.
/// </remarks>
internal sealed class RevocationFeedEndpoint(
    IGrantStore store,
    FeedConnectionLimit connections,
    IOptions<RevocationFeedOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<RevocationFeedEndpoint> logger,
    RevocationFeedTelemetry telemetry)
{
    /// <summary>The media type of the stream (WHATWG HTML §9.2.5).</summary>
    public const string EventStream = "text/event-stream";

    /// <summary>Entries read from the store per round while replaying history.</summary>
    internal const int PageSize = 100;

    private static readonly byte[] Opening = Encoding.UTF8.GetBytes(": broker revocation feed\nretry: 1000\n\n");
    private static readonly byte[] Heartbeat = Encoding.UTF8.GetBytes(": heartbeat\n\n");

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        // The authorization policy let only tenant members through; no tenant here is a bug, so fail closed.
        var caller = WorkloadPrincipal.From(context.User);
        if (caller?.Tenant is not { Length: > 0 } tenant)
        {
            return ErrorWriter.Result(ErrorCatalog.FeedForbidden);
        }

        if (!AcceptsEventStream(context.Request))
        {
            return ErrorWriter.Result(ErrorCatalog.FeedNotAcceptable);
        }

        // WHATWG HTML §9.2.4: an empty Last-Event-ID is the same as none ("from now"). Anything but a stream
        // position is refused here, so it never reaches the store.
        var lastEventIds = context.Request.Headers["Last-Event-ID"];
        if (lastEventIds.Count > 1)
        {
            return ErrorWriter.Result(ErrorCatalog.FeedInvalidLastEventId);
        }

        StreamPosition? resumeFrom = null;
        if (lastEventIds.Count == 1 && !string.IsNullOrEmpty(lastEventIds[0]))
        {
            if (!StreamPosition.TryParse(lastEventIds[0], out var position))
            {
                return ErrorWriter.Result(ErrorCatalog.FeedInvalidLastEventId);
            }

            resumeFrom = position;
        }

        if (!connections.TryAcquire())
        {
            Log.FeedConnectionLimitReached(logger, connections.Limit);
            telemetry.ConnectionRefused();
            return ErrorWriter.Result(ErrorCatalog.FeedTooManyConnections);
        }

        try
        {
            return await ServeAsync(context, caller, tenant, resumeFrom);
        }
        finally
        {
            connections.Release();
        }
    }

    private async Task<IResult> ServeAsync(HttpContext context, WorkloadPrincipal caller, string tenant, StreamPosition? resumeFrom)
    {
        var settings = options.Value;
        using var maxLifetime = new CancellationTokenSource(settings.FeedMaxConnectionLifetime, timeProvider);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping, maxLifetime.Token);
        var cancellationToken = stop.Token;

        // Subscribed first: whatever is revoked from here on is in the subscription, and the history read below
        // covers what came before.
        await using var subscription = await store.SubscribeRevocationsAsync(cancellationToken);

        // The first page is read before the response starts: an unreachable store is still a 503 (through the
        // exception handler).
        RevocationPage? first = null;
        StreamPosition startAt;
        if (resumeFrom is { } resumeAt)
        {
            startAt = resumeAt;
            first = await store.ReadRevocationsAsync(tenant, resumeAt, PageSize, cancellationToken);
        }
        else
        {
            // "From now": the newest position, read after subscribing, is where this connection starts. The client
            // gets it in the ready event, so its next connection resumes instead of starting over.
            startAt = await store.GetRevocationPositionAsync(tenant, cancellationToken);
        }

        Log.FeedOpened(logger, caller.QualifiedId, resumeFrom is not null);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = EventStream;
        response.Headers[HeaderNames.CacheControl] = "no-store";

        // nginx and compatible proxies would otherwise buffer the stream and deliver revocations late.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var sent = 0;
        try
        {
            await response.Body.WriteAsync(Opening, cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
            var writer = new FeedWriter(response.Body, timeProvider);
            var cursor = startAt;
            if (first is not null)
            {
                (cursor, sent) = await ReplayAsync(writer, tenant, startAt, first, live: false, cancellationToken);
            }

            // Everything up to the cursor has been sent: from here on the client's set is current.
            await writer.WriteReadyAsync(cursor, cancellationToken);
            await writer.FlushAsync(cancellationToken);
            sent += await FollowAsync(writer, subscription, tenant, cursor, settings.FeedHeartbeat, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Client gone, broker stopping, or the connection's lifetime is over: the client resumes elsewhere.
        }
        catch (IOException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-write.
        }
        catch (GrantStoreUnavailableException e)
        {
            // Mid-stream there is no status to send: ending the stream makes the client resume after its backoff.
            Log.FeedStoreUnavailable(logger, tenant, e);
        }

        Log.FeedClosed(logger, tenant, sent);
        return Results.Empty;
    }

    /// <summary>Sends the history after <paramref name="resumeFrom"/>, page by page; returns the position reached.</summary>
    private async Task<(StreamPosition Cursor, int Sent)> ReplayAsync(FeedWriter writer, string tenant, StreamPosition resumeFrom, RevocationPage first, bool live, CancellationToken cancellationToken)
    {
        var sent = 0;
        if (first.HistoryLost)
        {
            Log.FeedHistoryLost(logger, tenant);

            // Trimming removes the oldest entries first, so a missed revocation was made no later than the oldest
            // retained one, and its token issued no later than that; with nothing retained, no later than now.
            // Rounded up to the next second so a token issued in that second is refused too (iat is in seconds).
            var (resetId, boundary) = first.Entries.Count > 0
                ? (first.Entries[0].Position, first.Entries[0].RevokedAt)
                : (first.Position ?? resumeFrom, timeProvider.GetUtcNow());
            await writer.WriteResetAsync(resetId, boundary.ToUnixTimeSeconds() + 1, cancellationToken);
            telemetry.Reset();
        }

        var cursor = resumeFrom;
        var page = first;
        while (true)
        {
            foreach (var entry in page.Entries)
            {
                await writer.WriteRevokedAsync(entry, cancellationToken);
                telemetry.Revoked(entry, live, timeProvider.GetUtcNow());
                sent++;
            }

            await writer.FlushAsync(cancellationToken);

            // The store advances past other tenants' entries too; no progress means the end of the stream.
            if (page.Position is not { } next || next == cursor)
            {
                return (cursor, sent);
            }

            cursor = next;
            page = await store.ReadRevocationsAsync(tenant, cursor, PageSize, cancellationToken);
        }
    }

    /// <summary>Sends live revocations of <paramref name="tenant"/> after <paramref name="cursor"/>, with heartbeats.</summary>
    private async Task<int> FollowAsync(FeedWriter writer, RevocationSubscription subscription, string tenant, StreamPosition cursor, TimeSpan heartbeat, CancellationToken cancellationToken)
    {
        var sent = 0;
        var reader = subscription.Reader;
        Task<bool>? waiting = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            var quiet = heartbeat - writer.SinceLastWrite;
            if (quiet <= TimeSpan.Zero)
            {
                await writer.WriteHeartbeatAsync(cancellationToken);
                continue;
            }

            using (var beat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var delay = Task.Delay(quiet, timeProvider, beat.Token);
                if (await Task.WhenAny(waiting, delay) != waiting)
                {
                    continue;
                }

                await beat.CancelAsync();
            }

            if (!await waiting)
            {
                // The subscription ended (the store is shutting down): the client resumes elsewhere.
                return sent;
            }

            waiting = null;
            var news = false;
            while (reader.TryRead(out var entry))
            {
                // Other tenants' revocations never leave the broker on this connection.
                news |= string.Equals(entry.Tenant, tenant, StringComparison.Ordinal)
                    && entry.Position > cursor;
            }

            if (!news)
            {
                continue;
            }

            // Notifications are a wake-up, not the record: they can arrive out of order (pub/sub handlers run
            // concurrently) or be dropped, so the entries after the last one sent are read from the stream.
            var (next, replayed) = await ReplayAsync(writer, tenant, cursor, await store.ReadRevocationsAsync(tenant, cursor, PageSize, cancellationToken), live: true, cancellationToken);
            cursor = next;
            sent += replayed;
        }

        return sent;
    }

    /// <summary>Whether the request accepts <c>text/event-stream</c> (RFC 9110 §12.5.1; q=0 refuses it).</summary>
    internal static bool AcceptsEventStream(HttpRequest request) =>
        MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted)
        && accepted.Any(a => a.MediaType.Equals(EventStream, StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);

    /// <summary>Writes events in the WHATWG HTML §9.2.5 format; the fields never contain a line break.</summary>
    private sealed class FeedWriter(Stream body, TimeProvider timeProvider)
    {
        private long _lastWrite = timeProvider.GetTimestamp();

        public TimeSpan SinceLastWrite => timeProvider.GetElapsedTime(_lastWrite);

        public Task WriteRevokedAsync(RevocationEntry entry, CancellationToken cancellationToken)
        {
            if (entry.Withdrawal is { } withdrawal)
            {
                // A capability withdrawn from the catalog: in the same stream, so it is ordered and resumed with the
                // revocations; clients that do not know the event type skip it (WHATWG HTML §9.2.6).
                var withdrawn = JsonSerializer.Serialize(
                    new WithdrawnEventData(withdrawal.Capability, withdrawal.Resource, entry.RevokedAt.ToUnixTimeSeconds(), entry.ExpiresAt.ToUnixTimeSeconds()),
                    RevocationFeedJsonContext.Default.WithdrawnEventData);
                return WriteEventAsync("capability_withdrawn", entry.Position, withdrawn, cancellationToken);
            }

            var data = JsonSerializer.Serialize(
                new RevokedEventData(entry.GrantId, entry.RevokedAt.ToUnixTimeSeconds(), entry.ExpiresAt.ToUnixTimeSeconds()),
                RevocationFeedJsonContext.Default.RevokedEventData);
            return WriteEventAsync("revoked", entry.Position, data, cancellationToken);
        }

        public Task WriteResetAsync(StreamPosition position, long since, CancellationToken cancellationToken)
        {
            var data = JsonSerializer.Serialize(new ResetEventData("history_lost", since), RevocationFeedJsonContext.Default.ResetEventData);
            return WriteEventAsync("reset", position, data, cancellationToken);
        }

        public Task WriteReadyAsync(StreamPosition position, CancellationToken cancellationToken) =>
            WriteEventAsync("ready", position, "{}", cancellationToken);

        public async Task WriteHeartbeatAsync(CancellationToken cancellationToken)
        {
            await body.WriteAsync(Heartbeat, cancellationToken);
            await FlushAsync(cancellationToken);
        }

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            await body.FlushAsync(cancellationToken);
            _lastWrite = timeProvider.GetTimestamp();
        }

        private async Task WriteEventAsync(string type, StreamPosition id, string data, CancellationToken cancellationToken)
        {
            var text = string.Create(CultureInfo.InvariantCulture, $"event: {type}\nid: {id}\ndata: {data}\n\n");
            await body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        }
    }
}
