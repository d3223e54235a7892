namespace Broker.Policy;

/// <summary>A problem in a policy file, located to the line so the author can fix it.</summary>
/// <param name="File">The file, relative to the policy directory (or the directory itself, with line 0).</param>
/// <param name="Line">The 1-based line; 0 when the problem is not in one place of a file.</param>
/// <param name="Column">The 1-based column; 0 with line 0.</param>
/// <param name="Message">What is wrong, in words the policy's author reads.</param>
public sealed record PolicyError(string File, int Line, int Column, string Message)
{
    /// <summary><c>file:line:column: message</c>, the form editors and CI logs link to.</summary>
    /// <returns>The error on one line.</returns>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}
