namespace Broker.Policy;

/// <summary>A problem in a policy file, located to the line so the author can fix it.</summary>
public sealed record PolicyError(string File, int Line, int Column, string Message)
{
    /// <summary><c>file:line:column: message</c>, the form editors and CI logs link to.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}
