namespace Broker.Exchange;

/// <summary>
/// The grammar of <c>task_id</c> and <c>purpose</c>: short, printable and free of separators that
/// could confuse a log line or a Redis key.
/// </summary>
public static class TaskContext
{
    /// <summary>Longest accepted task ID or purpose.</summary>
    public const int MaxLength = 128;

    /// <summary>1-128 characters of <c>A-Z a-z 0-9 . _ : / -</c>.</summary>
    public static bool IsValidValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '/' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
