// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Text;

namespace Agent;

/// <summary>
/// What the agent tells its operator, one line per step on stdout: <c>[step] what happened</c>, plus
/// <c>grant: ID</c> lines for scripts. Grant IDs (the tokens' <c>jti</c>) are printed; tokens never are: every
/// credential the agent handles is registered here and scrubbed from any line, in case a server echoes one.
/// </summary>
internal sealed class Narrative(TextWriter output)
{
    private readonly Lock _lock = new();
    private readonly List<string> _secrets = [];

    /// <summary>A value that must never be printed.</summary>
    public void Secret(string value)
    {
        lock (_lock)
        {
            _secrets.Add(value);
        }
    }

    public void Step(string step, string text) => Write($"[{step}] {text}");

    /// <summary>The machine-readable line a script reads to revoke the grant (<c>brokerctl grants revoke ID</c>).</summary>
    public void Grant(string grantId) => Write($"grant: {grantId}");

    /// <summary>Server-supplied text made fit for one line: printable ASCII, at most <paramref name="max"/> characters.</summary>
    public static string Printable(string? text, int max = 160)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "(nothing)";
        }

        var line = new StringBuilder(Math.Min(text.Length, max + 1));
        foreach (var c in text)
        {
            if (line.Length > max)
            {
                break;
            }

            line.Append(c is >= ' ' and <= '~' ? c : ' ');
        }

        return line.Length > max ? line.ToString(0, max) + "..." : line.ToString();
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            foreach (var secret in _secrets)
            {
                line = line.Replace(secret, "[redacted]", StringComparison.Ordinal);
            }

            output.WriteLine(line);
            output.Flush();
        }
    }
}
