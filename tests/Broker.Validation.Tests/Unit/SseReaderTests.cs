using System.Text;
using Broker.Validation.Revocation;

namespace Broker.Validation.Tests.Unit;

/// <summary>The event-stream reader against WHATWG HTML §9.2.6, and its bounds.</summary>
public sealed class SseReaderTests
{
    [Fact]
    public async Task Read_FieldsCommentsRetryAndLineEndings()
    {
        // Arrange: BOM, CRLF, CR and LF line endings, a field without a space, multi-line data, an unknown field.
        var reader = Reader("\uFEFF: broker revocation feed\r\nretry: 1500\r\n\r\nevent: revoked\rid: 7-0\ndata:{\"a\":1}\ndata: second\nfoo: bar\n\n: heartbeat\n\n");

        // Act
        var records = await ReadAllAsync(reader);

        // Assert
        Assert.Equal(
            [
                new SseRecord(SseRecordKind.Comment, "", "broker revocation feed", "", default),
                new SseRecord(SseRecordKind.Retry, "", "", "", TimeSpan.FromMilliseconds(1500)),
                new SseRecord(SseRecordKind.Event, "revoked", "{\"a\":1}\nsecond", "7-0", default),
                new SseRecord(SseRecordKind.Comment, "", "heartbeat", "", default),
            ],
            records);
    }

    [Fact]
    public async Task Read_IdWithoutDataSticks_BadRetryAndNulIdIgnored_UnterminatedEventDropped()
    {
        // Arrange
        var reader = Reader("id: 5-0\n\nretry: soon\nid: bad\0id\ndata: x\n\nevent: revoked\ndata: never dispatched\n");

        // Act
        var records = await ReadAllAsync(reader);

        // Assert: the event takes the last valid id and the default type.
        var only = Assert.Single(records);
        Assert.Equal(new SseRecord(SseRecordKind.Event, "message", "x", "5-0", default), only);
    }

    [Theory]
    [InlineData(": ", 300)]
    [InlineData("data: ", 300)]
    public async Task Read_LineLongerThanLimit_Refused(string prefix, int length)
    {
        // Arrange: a line split across many buffer reads still counts as one.
        var reader = Reader(prefix + new string('x', length) + "\n\n", maxLine: 256);

        // Act + Assert
        var error = await Assert.ThrowsAsync<SseLimitExceededException>(() => ReadAllAsync(reader));
        Assert.Contains("256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_EventLargerThanLimit_Refused()
    {
        // Arrange
        var reader = Reader(string.Concat(Enumerable.Repeat("data: " + new string('x', 200) + "\n", 3)) + "\n", maxLine: 256, maxEvent: 512);

        // Act + Assert
        await Assert.ThrowsAsync<SseLimitExceededException>(() => ReadAllAsync(reader));
    }

    private static SseReader Reader(string text, int maxLine = 8192, int maxEvent = 16384) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(text)), maxLine, maxEvent);

    private static async Task<List<SseRecord>> ReadAllAsync(SseReader reader)
    {
        var records = new List<SseRecord>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken) is { } record)
        {
            records.Add(record);
        }

        return records;
    }
}
