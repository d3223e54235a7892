using System.Text;

namespace Broker.IntegrationTests.RevocationFeed;

/// <summary>One server-sent event or comment, as a WHATWG HTML §9.2.6 parser sees it.</summary>
public sealed record SseMessage(string? Event, string? Id, string? Data, string? Retry, IReadOnlyList<string> Comments);

/// <summary>
/// A small server-sent-events parser over a response body: fields accumulate until a blank line; comment lines
/// (": ...") are kept so tests can see the opening line and heartbeats.
/// </summary>
public sealed class SseReader(Stream body) : IDisposable
{
    // Generous: "never hangs", not a latency target.
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly StreamReader _reader = new(body, Encoding.UTF8);

    /// <summary>The first line the server wrote (the opening comment).</summary>
    public string? FirstLine { get; private set; }

    /// <summary>Reads the next message (a dispatched block, possibly of comments only); null at the end of the stream.</summary>
    public async Task<SseMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Deadline);
        string? type = null, id = null, retry = null;
        StringBuilder? data = null;
        List<string> comments = [];
        var any = false;
        while (true)
        {
            var line = await _reader.ReadLineAsync(deadline.Token);
            if (line is null)
            {
                return any ? new SseMessage(type, id, data?.ToString(), retry, comments) : null;
            }

            FirstLine ??= line;
            if (line.Length == 0)
            {
                if (any)
                {
                    return new SseMessage(type, id, data?.ToString(), retry, comments);
                }

                continue;
            }

            any = true;
            if (line.StartsWith(':'))
            {
                comments.Add(line[1..].TrimStart(' '));
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? string.Empty : line[(colon + 1)..];
            value = value.StartsWith(' ') ? value[1..] : value;
            switch (field)
            {
                case "event": type = value; break;
                case "id": id = value; break;
                case "retry": retry = value; break;
                case "data": data = data is null ? new StringBuilder(value) : data.Append('\n').Append(value); break;
            }
        }
    }

    /// <summary>
    /// The next event (skipping comment-only blocks, and the <c>ready</c> event unless asked for); fails the test at
    /// the end of the stream.
    /// </summary>
    public async Task<SseMessage> NextEventAsync(bool skipReady = true)
    {
        while (true)
        {
            var message = await ReadAsync() ?? throw new InvalidOperationException("The feed ended before the expected event.");
            if ((message.Event is not null || message.Data is not null) && !(skipReady && message.Event == "ready"))
            {
                return message;
            }
        }
    }

    public void Dispose() => _reader.Dispose();
}
