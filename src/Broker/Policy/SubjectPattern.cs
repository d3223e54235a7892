using Broker.Spiffe;

namespace Broker.Policy;

/// <summary>
/// Matches a workload identity: exact, or a SPIFFE ID pattern where <c>*</c> stands for exactly one
/// path segment and a final <c>**</c> for one or more. No regular expressions: matching is linear in
/// the number of segments, and the trust domain is always matched exactly.
/// </summary>
public sealed class SubjectPattern
{
    private const string SpiffePrefix = "spiffe://";
    private readonly string? _exact;
    private readonly string _trustDomainPrefix = "";
    private readonly string[] _segments = [];
    private readonly bool _trailingAny;

    private SubjectPattern(string text, string? exact)
    {
        Text = text;
        _exact = exact;
    }

    private SubjectPattern(string text, string trustDomainPrefix, string[] segments, bool trailingAny)
    {
        Text = text;
        _trustDomainPrefix = trustDomainPrefix;
        _segments = segments;
        _trailingAny = trailingAny;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Compiles a pattern; returns false with a message when it is not valid.</summary>
    public static bool TryCompile(string text, out SubjectPattern? pattern, out string? error)
    {
        pattern = null;
        error = null;
        if (string.IsNullOrEmpty(text) || text.Length > 2048)
        {
            error = "a subject pattern must be 1-2048 characters";
            return false;
        }

        if (!text.Contains('*', StringComparison.Ordinal))
        {
            if (text.StartsWith(SpiffePrefix, StringComparison.Ordinal) && !SpiffeId.TryParse(text, out _))
            {
                error = $"'{text}' is not a valid SPIFFE ID";
                return false;
            }

            pattern = new SubjectPattern(text, text);
            return true;
        }

        if (!text.StartsWith(SpiffePrefix, StringComparison.Ordinal))
        {
            error = "wildcards are only allowed in SPIFFE ID path segments (spiffe://trust-domain/*/...)";
            return false;
        }

        var slash = text.IndexOf('/', SpiffePrefix.Length);
        var trustDomain = slash < 0 ? text[SpiffePrefix.Length..] : text[SpiffePrefix.Length..slash];
        if (slash < 0 || trustDomain.Contains('*', StringComparison.Ordinal) || !TrustDomain.TryParse(trustDomain, out _))
        {
            error = "the trust domain of a subject pattern must be exact; wildcards go in path segments";
            return false;
        }

        var segments = text[(slash + 1)..].Split('/');
        var trailingAny = segments[^1] == "**";
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var isLast = i == segments.Length - 1;
            if (segment == "**" && !isLast)
            {
                error = "'**' is only allowed as the last path segment";
                return false;
            }

            if (segment is "*" or "**")
            {
                continue;
            }

            if (segment.Contains('*', StringComparison.Ordinal))
            {
                error = "a wildcard must be a whole path segment ('*' or a final '**')";
                return false;
            }

            // Validate the literal segment with the SPIFFE ID grammar.
            if (!SpiffeId.TryParse($"{SpiffePrefix}{trustDomain}/{segment}", out _))
            {
                error = $"'{segment}' is not a valid SPIFFE ID path segment";
                return false;
            }
        }

        pattern = new SubjectPattern(
            text,
            $"{SpiffePrefix}{trustDomain}/",
            trailingAny ? segments[..^1] : segments,
            trailingAny);
        return true;
    }

    /// <summary>True when <paramref name="subject"/> matches this pattern.</summary>
    public bool Matches(string subject)
    {
        if (_exact is not null)
        {
            return string.Equals(_exact, subject, StringComparison.Ordinal);
        }

        if (!subject.StartsWith(_trustDomainPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var path = subject.AsSpan(_trustDomainPrefix.Length);
        var index = 0;
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (index < _segments.Length)
            {
                if (segment.IsEmpty || (_segments[index] != "*" && !segment.SequenceEqual(_segments[index])))
                {
                    return false;
                }
            }
            else if (!_trailingAny || segment.IsEmpty)
            {
                return false;
            }

            index++;
        }

        return _trailingAny ? index > _segments.Length : index == _segments.Length;
    }

    public override string ToString() => Text;
}
