using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// The broker's revocation feed as /work/notes/feed.md fixes it (docs/mcp.md "The revocation feed"), served by a
/// <see cref="StandInBroker"/>: bearer credential, <c>Accept: text/event-stream</c> (406 otherwise),
/// <c>Last-Event-ID</c> resumption (400 for a position it could not have produced), the opening comment and
/// <c>retry:</c>, <c>revoked</c> events oldest first, <c>reset</c> when the position is older than the retained
/// history, and heartbeats. Heartbeats and drops happen when a test says so, never on a timer. Positions look like
/// Redis stream IDs and are opaque to the client.
/// </summary>
public sealed class StandInRevocationFeed
{
    public const string Path = "/revocations/v1/events";

    private readonly Lock _gate = new();
    private readonly List<Frame> _frames = [];
    private readonly List<string?> _lastEventIds = [];
    private TaskCompletionSource _pulse = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _drop = new();
    private long _firstRetainedSeq = 1;
    private long _nextSeq = 1;
    private long _resetSince;
    private int _requests;
    private int _open;

    /// <summary>The workload credential the feed accepts; anything else is answered 401.</summary>
    public string Credential { get; set; } = "stand-in-workload-credential";

    /// <summary>When set, every request is answered with this status (the broker's JSON error body).</summary>
    public int? FailWith { get; set; }

    /// <summary>The <c>retry:</c> sent at the start of every stream, in milliseconds.</summary>
    public int RetryMilliseconds { get; set; } = 1000;

    /// <summary>Whether the stream says <c>ready</c> after its history, as the broker does; off to stay "catching up".</summary>
    public bool SendReady { get; set; } = true;

    /// <summary>Requests received, answered or not.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Streams open now.</summary>
    public int OpenStreams => Volatile.Read(ref _open);

    /// <summary>The <c>Last-Event-ID</c> of every request answered 200 (null when absent), in order.</summary>
    public IReadOnlyList<string?> LastEventIds
    {
        get
        {
            lock (_gate)
            {
                return [.. _lastEventIds];
            }
        }
    }

    /// <summary>Records a revocation and sends it to every open stream; returns its position.</summary>
    public string Revoke(string grantId, long? exp, long? revokedAt = null)
    {
        lock (_gate)
        {
            var seq = _nextSeq++;
            var position = PositionOf(seq);
            var data = JsonSerializer.Serialize(new { grant_id = grantId, revoked_at = revokedAt ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(), exp });
            _frames.Add(new Frame($"event: revoked\nid: {position}\ndata: {data}\n\n", seq));
            Pulse();
            return position;
        }
    }

    /// <summary>Sends a heartbeat comment to every open stream.</summary>
    public void Heartbeat() => SendRaw(": heartbeat\n\n");

    /// <summary>Sends raw bytes to every open stream (for malformed and oversized input).</summary>
    public void SendRaw(string text)
    {
        lock (_gate)
        {
            _frames.Add(new Frame(text, null));
            Pulse();
        }
    }

    /// <summary>Forgets every entry before the next one (RevocationPage.HistoryLost for older positions), as of <paramref name="since"/>.</summary>
    public void ForgetHistory(DateTimeOffset since)
    {
        lock (_gate)
        {
            _firstRetainedSeq = _nextSeq;
            _resetSince = since.ToUnixTimeSeconds();
        }
    }

    /// <summary>Closes every open stream (as after FeedMaxConnectionLifetime).</summary>
    public void DropConnections()
    {
        lock (_gate)
        {
            _drop.Cancel();
            _drop = new CancellationTokenSource();
        }
    }

    internal void Map(IEndpointRouteBuilder app) => app.MapGet(Path, (HttpContext context) => ServeAsync(context));

    private async Task ServeAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var request = context.Request;
        var response = context.Response;
        if (FailWith is { } status)
        {
            await Error(response, status, status == 401 ? "invalid_token" : "temporarily_unavailable");
            return;
        }

        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || authorization["Bearer ".Length..] != Credential)
        {
            response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            await Error(response, 401, "invalid_token");
            return;
        }

        if (!request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal))
        {
            await Error(response, 406, "invalid_request");
            return;
        }

        var lastEventId = request.Headers.TryGetValue("Last-Event-ID", out var values) ? values.ToString() : null;
        var replay = new StringBuilder();
        int next;
        var malformed = false;
        CancellationToken drop;
        lock (_gate)
        {
            drop = _drop.Token;
            next = _frames.Count;
            if (!string.IsNullOrEmpty(lastEventId))
            {
                if (SeqOf(lastEventId) is not { } seq || seq >= _nextSeq)
                {
                    malformed = true;
                }
                else
                {
                    var from = seq + 1;
                    if (from < _firstRetainedSeq)
                    {
                        var oldest = _firstRetainedSeq < _nextSeq ? PositionOf(_firstRetainedSeq) : PositionOf(_nextSeq - 1);
                        replay.Append($"event: reset\nid: {oldest}\ndata: {{\"reason\":\"history_lost\",\"since\":{_resetSince}}}\n\n");
                        from = _firstRetainedSeq;
                    }

                    foreach (var frame in _frames.Where(f => f.Seq >= from))
                    {
                        replay.Append(frame.Text);
                    }
                }
            }

            // Like the broker: once the history is out, the position everything up to which has been sent.
            if (SendReady && !malformed)
            {
                replay.Append($"event: ready\nid: {PositionOf(_nextSeq - 1)}\ndata: {{}}\n\n");
            }

            if (!malformed)
            {
                _lastEventIds.Add(lastEventId);
            }
        }

        if (malformed)
        {
            await Error(response, 400, "invalid_request");
            return;
        }

        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        Interlocked.Increment(ref _open);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(drop, context.RequestAborted);
            await WriteAsync(response, $": broker revocation feed\nretry: {RetryMilliseconds}\n\n{replay}", linked.Token);
            while (!linked.IsCancellationRequested)
            {
                Task pulse;
                string pending;
                lock (_gate)
                {
                    pending = string.Concat(_frames.Skip(next).Select(f => f.Text));
                    next = _frames.Count;
                    pulse = _pulse.Task;
                }

                if (pending.Length > 0)
                {
                    await WriteAsync(response, pending, linked.Token);
                }

                await pulse.WaitAsync(linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Dropped by the test, or the client went away.
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static Task Error(HttpResponse response, int status, string error)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { error, error_description = "stand-in" }));
    }

    private void Pulse()
    {
        var old = _pulse;
        _pulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.SetResult();
    }

    private static string PositionOf(long seq) => $"{1796161705000 + seq}-0";

    private static long? SeqOf(string position) =>
        position.EndsWith("-0", StringComparison.Ordinal) && long.TryParse(position[..^2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) && ms >= 1796161705000
            ? ms - 1796161705000
            : null;

    private sealed record Frame(string Text, long? Seq);
}
