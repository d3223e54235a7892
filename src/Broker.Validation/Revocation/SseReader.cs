// Broker.Validation — resource servers honour broker tokens.

using System.Text;

namespace Broker.Validation.Revocation;

/// <summary>What the event stream delivered: a comment (heartbeat), a <c>retry:</c>, or a dispatched event.</summary>
internal enum SseRecordKind
{
    Comment,
    Retry,
    Event,
}

/// <summary>One record of an event stream. <paramref name="Id"/> is the stream's last event ID when an event is dispatched.</summary>
internal readonly record struct SseRecord(SseRecordKind Kind, string Type, string Data, string Id, TimeSpan Retry);

/// <summary>A line or event longer than allowed: the stream is dropped rather than buffered without bound.</summary>
internal sealed class SseLimitExceededException(string message) : IOException(message);

/// <summary>
/// Reads server-sent events (WHATWG HTML §9.2.6 "Interpreting an event stream") with bounded lines and events.
/// Hand-written rather than <c>System.Net.ServerSentEvents.SseParser</c>: that parser discards comments, and the
/// broker's heartbeats are comments (they are how this client knows the feed is alive), and it does not bound lines.
/// Not thread-safe. Disposing it does not close the stream.
/// </summary>
internal sealed class SseReader : IDisposable
{
    private readonly StreamReader _reader;
    private readonly int _maxLine;
    private readonly int _maxEvent;
    private readonly char[] _buffer = new char[4096];
    private readonly StringBuilder _line = new();
    private readonly StringBuilder _data = new();
    private int _position;
    private int _length;
    private bool _skipLeadingLineFeed;
    private bool _first = true;
    private string _type = "";
    private string _lastEventId = "";

    public SseReader(Stream stream, int maxLine, int maxEvent)
    {
        // §9.2.6: the stream is always UTF-8; one leading BOM is ignored.
        _reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        _maxLine = maxLine;
        _maxEvent = maxEvent;
    }

    /// <summary>The next record; null at the end of the stream (an event not terminated by a blank line is discarded, §9.2.6).</summary>
    public async ValueTask<SseRecord?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                // Dispatch (§9.2.6): the last event ID is updated even when there is no data.
                var type = _type.Length == 0 ? "message" : _type;
                _type = "";
                if (_data.Length == 0)
                {
                    continue;
                }

                var data = _data.ToString(0, _data.Length - 1);
                _data.Clear();
                return new SseRecord(SseRecordKind.Event, type, data, _lastEventId, default);
            }

            if (line[0] == ':')
            {
                return new SseRecord(SseRecordKind.Comment, "", line[1..].TrimStart(' '), "", default);
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "event":
                    _type = value;
                    break;
                case "data":
                    if (_data.Length + value.Length + 1 > _maxEvent)
                    {
                        throw new SseLimitExceededException($"an event exceeds {_maxEvent} characters");
                    }

                    _data.Append(value).Append('\n');
                    break;
                case "id" when !value.Contains('\0', StringComparison.Ordinal):
                    _lastEventId = value;
                    break;
                case "retry" when value.Length is > 0 and <= 9 && value.All(char.IsAsciiDigit):
                    return new SseRecord(SseRecordKind.Retry, "", "", "", TimeSpan.FromMilliseconds(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
                default:
                    // §9.2.6: other fields are ignored.
                    break;
            }
        }

        return null;
    }

    public void Dispose() => _reader.Dispose();

    /// <summary>A line ended by CRLF, LF or CR; null at the end of the stream.</summary>
    private async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        while (true)
        {
            if (_position == _length)
            {
                _length = await _reader.ReadAsync(_buffer.AsMemory(), cancellationToken);
                _position = 0;
                if (_length == 0)
                {
                    return null;
                }
            }

            if (_first)
            {
                _first = false;
                if (_buffer[_position] == '\uFEFF')
                {
                    _position++;
                    continue;
                }
            }

            if (_skipLeadingLineFeed)
            {
                _skipLeadingLineFeed = false;
                if (_buffer[_position] == '\n')
                {
                    _position++;
                    continue;
                }
            }

            var span = _buffer.AsSpan(_position, _length - _position);
            var end = span.IndexOfAny('\r', '\n');
            var take = end < 0 ? span.Length : end;
            if (_line.Length + take > _maxLine)
            {
                throw new SseLimitExceededException($"a line exceeds {_maxLine} characters");
            }

            _line.Append(span[..take]);
            _position += take;
            if (end >= 0)
            {
                _skipLeadingLineFeed = _buffer[_position] == '\r';
                _position++;
                return _line.ToString();
            }
        }
    }
}
