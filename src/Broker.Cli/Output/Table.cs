namespace Broker.Cli.Output;

/// <summary>A column of a <see cref="Table"/>: its header and the widest it may grow.</summary>
internal sealed record Column(string Header, int MaxWidth = int.MaxValue);

/// <summary>
/// Aligned plain-text tables: each column as wide as its widest value (up to its maximum, longer values
/// end in <c>…</c>), two spaces between columns, no trailing spaces.
/// </summary>
internal static class Table
{
    private const string Gap = "  ";

    /// <summary>Writes the header and <paramref name="rows"/> with widths computed from the values.</summary>
    public static void Write(TextWriter output, IReadOnlyList<Column> columns, IReadOnlyList<string[]> rows)
    {
        var widths = columns.Select((c, i) => Math.Min(c.MaxWidth, rows.Select(r => r[i].Length).Append(c.Header.Length).Max())).ToArray();
        WriteRow(output, widths, columns.Select(c => c.Header).ToArray());
        foreach (var row in rows)
        {
            WriteRow(output, widths, row);
        }
    }

    /// <summary>
    /// Writes rows with every column at its maximum width, for output that arrives in batches
    /// (<c>audit tail --follow</c>) and must stay aligned across them.
    /// </summary>
    public static void WriteFixed(TextWriter output, IReadOnlyList<Column> columns, IReadOnlyList<string[]> rows, bool header)
    {
        var widths = columns.Select(c => c.MaxWidth).ToArray();
        if (header)
        {
            WriteRow(output, widths, columns.Select(c => c.Header).ToArray());
        }

        foreach (var row in rows)
        {
            WriteRow(output, widths, row);
        }
    }

    private static void WriteRow(TextWriter output, int[] widths, string[] cells)
    {
        var line = string.Join(Gap, cells.Select((cell, i) => Text.Truncate(cell, widths[i]).PadRight(i == cells.Length - 1 ? 0 : widths[i])));
        output.WriteLine(line.TrimEnd());
    }
}
