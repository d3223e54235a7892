using Broker.Cli.Output;

namespace Broker.Cli.Tests.Output;

public sealed class TableTests
{
    [Fact]
    public void Write_Values_ColumnsAsWideAsTheirWidestValue()
    {
        // Arrange
        using var output = new StringWriter();

        // Act
        Table.Write(output, [new("A"), new("LONG HEADER"), new("C")], [["x", "y", "z"], ["wide value", "v", "last"]]);

        // Assert
        Assert.Equal(
            """
            A           LONG HEADER  C
            x           y            z
            wide value  v            last

            """.ReplaceLineEndings(),
            output.ToString());
    }

    [Fact]
    public void Write_ValueLongerThanMaximum_TruncatedWithEllipsis()
    {
        // Arrange
        using var output = new StringWriter();

        // Act
        Table.Write(output, [new("ID", 5), new("X")], [["abcdefgh", "1"]]);

        // Assert
        Assert.Equal($"ID     X{Environment.NewLine}abcd…  1{Environment.NewLine}", output.ToString());
    }

    [Fact]
    public void WriteFixed_Batches_AlignedAtMaximumWidths()
    {
        // Arrange
        using var output = new StringWriter();
        Column[] columns = [new("T", 4), new("U", 2)];

        // Act
        Table.WriteFixed(output, columns, [["a", "b"]], header: true);
        Table.WriteFixed(output, columns, [["ccccc", "d"]], header: false);

        // Assert
        Assert.Equal(["T     U", "a     b", "ccc…  d"], output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }
}
