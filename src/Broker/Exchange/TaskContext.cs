namespace Broker.Exchange;

/// <summary>
/// The grammar of <c>task_id</c> and <c>purpose</c>: short, printable and free of separators that
/// could confuse a log line or a Redis key.
/// </summary>
public static class TaskContext
{
    /// <summary>Longest accepted task ID or purpose.</summary>
    public const int MaxLength = 128;

    /// <summary>
    /// The purpose of a grant that declared none (a jwt-bearer grant without <c>purpose</c>), in its token, grant
    /// record and audit events. Outside the grammar on purpose: no client can send it and no policy can list it
    /// (the loader checks <c>purposes</c> with <see cref="IsValidValue"/>), so a rule that names purposes never
    /// matches a request without one, and verifiers, which need a non-empty <c>purpose</c> claim, still get one.
    /// </summary>
    public const string NoPurpose = "(none)";

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
