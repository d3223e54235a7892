using Broker.Cli.Output;

namespace Broker.Cli.Tests.Output;

public sealed class TextTests
{
    [Theory]
    [InlineData("2026-11-24T10:03:24+00:00", "2026-11-24T10:03:24Z")]
    [InlineData("2026-11-24T11:03:24.999+01:00", "2026-11-24T10:03:24Z")]
    [InlineData("2026-11-24T05:03:24-05:00", "2026-11-24T10:03:24Z")]
    public void Timestamp_AnyOffset_Iso8601Utc(string value, string expected) =>
        Assert.Equal(expected, Text.Timestamp(DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Timestamp_Null_Dash() => Assert.Equal("-", Text.Timestamp(null));

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("", "-")]
    [InlineData(null, "-")]
    [InlineData("a\u001b[31mred", "a?[31mred")]
    [InlineData("two\nlines\r", "two?lines?")]
    public void Printable_ControlCharacters_Replaced(string? value, string expected) => Assert.Equal(expected, Text.Printable(value));
}
