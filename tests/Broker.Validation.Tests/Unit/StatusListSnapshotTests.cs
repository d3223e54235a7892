using Broker.Validation.Revocation;

namespace Broker.Validation.Tests.Unit;

/// <summary>Reading statuses out of a list (draft-ietf-oauth-status-list §4.1 and its examples), and bounded inflation.</summary>
public sealed class StatusListSnapshotTests
{
    [Fact]
    public void StatusAt_OneBitExampleOfTheDraft_LeastSignificantBitFirst()
    {
        // Arrange: §4.1: statuses 1,0,0,1,1,1,0,1 and 1,1,0,0,0,1,0,1 are the bytes 0xB9 0xA3.
        var list = Snapshot([0xB9, 0xA3], bits: 1);

        // Act
        var statuses = Enumerable.Range(0, 16).Select(i => list.StatusAt(i)).ToList();

        // Assert
        Assert.Equal([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1], statuses.Select(s => s!.Value));
        Assert.Null(list.StatusAt(16));
        Assert.Null(list.StatusAt(-1));
    }

    [Fact]
    public void StatusAt_TwoBitExampleOfTheDraft()
    {
        // Arrange: the draft's 2-bit example: 1,2,0,3 0,1,0,1 1,2,3,3 are 0xC9 0x44 0xF9.
        var list = Snapshot([0xC9, 0x44, 0xF9], bits: 2);

        // Act + Assert
        Assert.Equal([1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3], Enumerable.Range(0, 12).Select(i => list.StatusAt(i)!.Value));
        Assert.Null(list.StatusAt(12));
    }

    [Theory]
    [InlineData(4, 1, 0x0A)]
    [InlineData(8, 2, 0x77)]
    public void StatusAt_WiderStatuses(int bits, long index, int expected)
    {
        var list = Snapshot([0xA1, 0x0B, 0x77], bits);

        Assert.Equal(expected, list.StatusAt(index));
    }

    [Fact]
    public void Inflate_WithinTheBound_ReturnsTheList_BeyondIt_Refuses()
    {
        // Arrange
        var zeros = new byte[100_000];
        var compressed = Convert.FromBase64String(Base64(Infrastructure.StandInBroker.Compress(zeros)));

        // Act + Assert
        Assert.Equal(zeros, StatusListTokenReader.Inflate(compressed, 100_000));
        var refused = Assert.Throws<StatusListRejectedException>(() => StatusListTokenReader.Inflate(compressed, 99_999));
        Assert.Contains("more than 99999 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Throws<StatusListRejectedException>(() => StatusListTokenReader.Inflate([1, 2, 3, 4], 100));
    }

    private static StatusListSnapshot Snapshot(byte[] list, int bits) =>
        new("https://broker.test/statuslists/v1/t", list, bits, DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue, null, DateTimeOffset.UnixEpoch);

    private static string Base64(string base64Url)
    {
        var padded = base64Url.Replace('-', '+').Replace('_', '/');
        return padded + new string('=', (4 - (padded.Length % 4)) % 4);
    }
}
