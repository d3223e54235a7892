using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Broker.Cli.Output;

/// <summary>Formatting for human output.</summary>
internal static class Text
{
    /// <summary>Shown for an absent value.</summary>
    public const string None = "-";

    /// <summary>
    /// JSON that brokerctl writes itself: compact, non-ASCII and quotes left as they are (the output goes
    /// to terminals and pipes, never into HTML, so the default HTML-safe escaping only hurts reading).
    /// </summary>
    public static JsonWriterOptions JsonOutput { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>ISO-8601 in UTC, to the second: <c>2026-11-24T10:03:24Z</c>.</summary>
    public static string Timestamp(DateTimeOffset? value) =>
        value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? None;

    /// <summary>
    /// Replaces control characters with <c>?</c>. Values come from the broker and, through it, from
    /// workloads and admins (a revocation reason); an escape sequence must not reach the terminal.
    /// </summary>
    public static string Printable(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return None;
        }

        if (!value.Any(char.IsControl))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }

    /// <summary>Cuts <paramref name="value"/> to <paramref name="width"/> characters, ending in <c>…</c>.</summary>
    public static string Truncate(string value, int width) =>
        value.Length <= width ? value : string.Concat(value.AsSpan(0, width - 1), "…");

    public static string List(IReadOnlyList<string>? values) =>
        values is null || values.Count == 0 ? None : Printable(string.Join(", ", values));
}
