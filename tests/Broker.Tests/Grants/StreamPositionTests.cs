using Broker.Grants;

namespace Broker.Tests.Grants;

public sealed class StreamPositionTests
{
    [Theory]
    [InlineData("0-0", 0UL, 0UL)]
    [InlineData("1712345678901-3", 1712345678901UL, 3UL)]
    [InlineData("18446744073709551615-18446744073709551615", ulong.MaxValue, ulong.MaxValue)]
    [InlineData("007-01", 7UL, 1UL)]
    public void TryParse_StreamId_ReadsBothParts(string text, ulong milliseconds, ulong sequence)
    {
        // Act
        var parsed = StreamPosition.TryParse(text, out var position);

        // Assert
        Assert.True(parsed);
        Assert.Equal(new StreamPosition(milliseconds, sequence), position);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("17")]
    [InlineData("-")]
    [InlineData("+")]
    [InlineData("-1")]
    [InlineData("1-")]
    [InlineData("1--2")]
    [InlineData("1-2-3")]
    [InlineData("+1-2")]
    [InlineData("1-+2")]
    [InlineData(" 1-2")]
    [InlineData("1-2 ")]
    [InlineData("1 2")]
    [InlineData("0-0 + COUNT")]
    [InlineData("abc")]
    [InlineData("1-a")]
    [InlineData("1.5-2")]
    [InlineData("١-٢")]
    [InlineData("18446744073709551616-0")]
    [InlineData("0-18446744073709551616")]
    [InlineData("0000000000000000000000000000000000000001-0")]
    public void TryParse_AnythingElse_IsRefused(string? text)
    {
        // Act
        var parsed = StreamPosition.TryParse(text, out var position);

        // Assert
        Assert.False(parsed);
        Assert.Equal(default, position);
    }

    [Fact]
    public void TryParse_LongerThanMaxLength_IsRefused()
    {
        // Arrange: digits only, but past the 41 characters of the largest stream ID.
        var text = new string('0', StreamPosition.MaxLength - 2) + "1-0";

        // Act + Assert
        Assert.False(StreamPosition.TryParse(text, out _));
        Assert.True(StreamPosition.TryParse(text[1..], out var shorter));
        Assert.Equal(new StreamPosition(1, 0), shorter);
    }

    [Theory]
    [InlineData("0-0")]
    [InlineData("1712345678901-0")]
    [InlineData("1712345678901-42")]
    [InlineData("18446744073709551615-18446744073709551615")]
    public void ToString_IsTheCanonicalText_AndParsesBack(string text)
    {
        // Act
        var position = StreamPosition.Parse(text);

        // Assert
        Assert.Equal(text, position.ToString());
        Assert.Equal(position, StreamPosition.Parse(position.ToString()));
    }

    [Fact]
    public void ToString_LeadingZeros_AreDropped()
        => Assert.Equal("7-1", StreamPosition.Parse("007-01").ToString());

    [Fact]
    public void Parse_NotAPosition_ThrowsFormatException()
        => Assert.Throws<FormatException>(() => StreamPosition.Parse("17"));

    [Theory]
    [InlineData("0-0", "0-1")]
    [InlineData("0-1", "1-0")]
    [InlineData("9-5", "10-0")]
    [InlineData("1712345678901-9", "1712345678901-10")]
    [InlineData("1712345678901-18446744073709551615", "1712345678902-0")]
    [InlineData("18446744073709551614-18446744073709551615", "18446744073709551615-0")]
    public void Compare_ByMillisecondsThenSequence_AsNumbers(string lower, string higher)
    {
        // Arrange
        var low = StreamPosition.Parse(lower);
        var high = StreamPosition.Parse(higher);

        // Assert: numeric order, where ordinal text order would put 10 before 9.
        Assert.True(low < high);
        Assert.True(low <= high);
        Assert.True(high > low);
        Assert.True(high >= low);
        Assert.Equal(-1, low.CompareTo(high));
        Assert.Equal(1, high.CompareTo(low));
        Assert.NotEqual(low, high);
    }

    [Fact]
    public void Compare_EqualPositions_AreEqual()
    {
        var a = StreamPosition.Parse("1712345678901-3");
        var b = StreamPosition.Parse("01712345678901-03");

        Assert.Equal(0, a.CompareTo(b));
        Assert.True(a == b);
        Assert.True(a <= b && a >= b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Start_IsBeforeEveryOtherPosition_AndMaxValueAfter()
    {
        Assert.Equal("0-0", StreamPosition.Start.ToString());
        Assert.True(StreamPosition.Start < new StreamPosition(0, 1));
        Assert.True(new StreamPosition(ulong.MaxValue, ulong.MaxValue - 1) < StreamPosition.MaxValue);
    }

    [Theory]
    [InlineData("0-0", 1712345678901L, "1712345678901-0")]
    [InlineData("1712345678901-0", 1712345678902L, "1712345678902-0")]
    [InlineData("1712345678901-0", 1712345678901L, "1712345678901-1")]
    [InlineData("1712345678901-4", 1712345678000L, "1712345678901-5")]
    [InlineData("5-0", -1L, "5-1")]
    public void Next_AsRedisMakesStreamIds_IsAlwaysAfter(string last, long now, string expected)
    {
        // Arrange
        var position = StreamPosition.Parse(last);

        // Act: the clock moved on, stood still, or went back.
        var next = position.Next(now);

        // Assert
        Assert.Equal(expected, next.ToString());
        Assert.True(next > position);
    }

    [Fact]
    public void Next_SequenceExhausted_Throws()
        => Assert.Throws<OverflowException>(() => new StreamPosition(5, ulong.MaxValue).Next(5));
}
