using Broker.Spiffe;

namespace Broker.Policy;

/// <summary>
/// Matches a workload identity: exact, or a SPIFFE ID pattern where <c>*</c> stands for exactly one
/// path segment and a final <c>**</c> for one or more. No regular expressions: matching is linear in
/// the number of segments, and the trust domain is always matched exactly.
/// </summary>
/// <remarks>
/// A pattern may name the identity source it accepts: <c>oidc:ISSUER#PATTERN</c> matches only identities
/// that OIDC issuer <c>ISSUER</c> (exact URL) validated and whose mapped identity matches <c>PATTERN</c>. The
/// same identity string can come from several sources (a SPIFFE ID can be rendered by an OIDC subject
/// template, two clusters can both have <c>system:serviceaccount:a:b</c>), so where the source matters
/// it is part of the match: see <see cref="Matches(IdentityKind, string, string, SourceMatching)"/>.
/// </remarks>
public sealed class SubjectPattern
{
    /// <summary>The prefix of an OIDC-qualified pattern: <c>oidc:https://issuer#subject-pattern</c>.</summary>
    public const string OidcPrefix = "oidc:";

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

    /// <summary>The OIDC issuer of an <c>oidc:ISSUER#PATTERN</c> pattern; null when the pattern names no source.</summary>
    public string? Issuer { get; private init; }

    /// <summary>True when the identity part is a SPIFFE ID or SPIFFE ID pattern.</summary>
    public bool IsSpiffe => _exact is null || _exact.StartsWith(SpiffePrefix, StringComparison.Ordinal);

    /// <summary>Compiles a pattern; returns false with a message when it is not valid.</summary>
    /// <param name="text">The pattern as written.</param>
    /// <param name="pattern">The compiled pattern, or null.</param>
    /// <param name="error">Why it is not a pattern, or null.</param>
    /// <returns>True when <paramref name="text"/> is a pattern.</returns>
    public static bool TryCompile(string text, out SubjectPattern? pattern, out string? error)
    {
        pattern = null;
        error = null;
        if (string.IsNullOrEmpty(text) || text.Length > 2048)
        {
            error = "a subject pattern must be 1-2048 characters";
            return false;
        }

        if (text.StartsWith(OidcPrefix, StringComparison.Ordinal))
        {
            return TryCompileOidc(text, out pattern, out error);
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

    /// <summary>
    /// True when <paramref name="subject"/> matches this pattern, whatever source produced it. A pattern
    /// that names its source never matches here: without the source there is nothing to check it against.
    /// </summary>
    /// <param name="subject">The workload identity.</param>
    /// <returns>True when it matches.</returns>
    public bool Matches(string subject) => Issuer is null && MatchesIdentity(subject);

    /// <summary>True when an identity validated by <paramref name="kind"/> from <paramref name="source"/> matches.</summary>
    /// <param name="kind">How the identity was validated.</param>
    /// <param name="source">The trust domain name or OIDC issuer URL that vouched for it.</param>
    /// <param name="id">The workload identity.</param>
    /// <param name="matching">Whether a pattern without a source accepts any source (<see cref="SourceMatching.AnySource"/>) or only the one its form implies.</param>
    /// <returns>True when it matches.</returns>
    public bool Matches(IdentityKind kind, string source, string id, SourceMatching matching)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(id);
        if (Issuer is not null)
        {
            return kind == IdentityKind.Oidc && string.Equals(source, Issuer, StringComparison.Ordinal) && MatchesIdentity(id);
        }

        if (matching == SourceMatching.Implied)
        {
            // A SPIFFE ID pattern speaks for the trust domain's own SVIDs; anything else only for OIDC
            // identities (an issuer rendering a SPIFFE ID is not the trust domain vouching for it).
            var ok = IsSpiffe ? kind is IdentityKind.SpiffeJwt or IdentityKind.SpiffeX509 : kind == IdentityKind.Oidc;
            if (!ok)
            {
                return false;
            }
        }

        return MatchesIdentity(id);
    }

    /// <summary>
    /// True when some identity matches both this pattern and <paramref name="other"/>. Decided exactly: an exact
    /// pattern overlaps what matches it, and two SPIFFE ID patterns overlap when their trust domains are the same,
    /// every position both fix agrees (<c>*</c> agrees with any segment), and their lengths can meet (a final
    /// <c>**</c> stands for one or more segments). Patterns naming different sources never overlap.
    /// </summary>
    internal bool Overlaps(SubjectPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Issuer is not null && other.Issuer is not null && !string.Equals(Issuer, other.Issuer, StringComparison.Ordinal))
        {
            return false;
        }

        if (_exact is not null)
        {
            return other.MatchesIdentity(_exact);
        }

        if (other._exact is not null)
        {
            return MatchesIdentity(other._exact);
        }

        if (!string.Equals(_trustDomainPrefix, other._trustDomainPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        for (var i = 0; i < Math.Min(_segments.Length, other._segments.Length); i++)
        {
            if (_segments[i] != "*" && other._segments[i] != "*" && !string.Equals(_segments[i], other._segments[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        // Without '**' a pattern matches exactly its number of segments; with it, more than that.
        return (_trailingAny, other._trailingAny) switch
        {
            (false, false) => _segments.Length == other._segments.Length,
            (false, true) => _segments.Length > other._segments.Length,
            (true, false) => other._segments.Length > _segments.Length,
            (true, true) => true,
        };
    }

    private static bool TryCompileOidc(string text, out SubjectPattern? pattern, out string? error)
    {
        pattern = null;
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        var issuer = hash < 0 ? text[OidcPrefix.Length..] : text[OidcPrefix.Length..hash];

        // The issuer is compared exactly with the iss the broker validated; a fragment cannot be part of it
        // (OpenID Connect Discovery §2), which is what makes '#' an unambiguous separator.
        if (hash < 0 || hash == text.Length - 1
            || !Uri.TryCreate(issuer, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0)
        {
            error = $"'{text}' must be written oidc:<issuer URL>#<subject pattern>";
            return false;
        }

        var inner = text[(hash + 1)..];
        if (inner.StartsWith(OidcPrefix, StringComparison.Ordinal))
        {
            error = $"'{text}' names a source twice";
            return false;
        }

        if (!TryCompile(inner, out var compiled, out error))
        {
            return false;
        }

        pattern = compiled!.WithIssuer(text, issuer);
        return true;
    }

    private SubjectPattern WithIssuer(string text, string issuer) => _exact is not null
        ? new SubjectPattern(text, _exact) { Issuer = issuer }
        : new SubjectPattern(text, _trustDomainPrefix, _segments, _trailingAny) { Issuer = issuer };

    private bool MatchesIdentity(string subject)
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

    /// <summary>
    /// Where <see cref="TenantBindingIndex"/> files this pattern: an exact pattern under its identity, a wildcard pattern
    /// under its literal start up to the slash before its first wildcard segment (every identity it matches starts with
    /// that); null for a pattern bound to an issuer (<c>oidc:…#</c>), which the index always tries.
    /// </summary>
    internal string? IndexKey => Issuer is not null ? null
        : _exact ?? _trustDomainPrefix + string.Concat(_segments.TakeWhile(s => s is not ("*" or "**")).Select(s => s + "/"));

    /// <summary>The pattern as written.</summary>
    /// <returns><see cref="Text"/>.</returns>
    public override string ToString() => Text;
}

/// <summary>What a pattern without a source (<c>oidc:…#</c>) accepts.</summary>
public enum SourceMatching
{
    /// <summary>
    /// Any identity source that placed the identity in the tenant: rules and delegation. An OIDC issuer can
    /// only render a SPIFFE ID of a trust domain its trust entry lists (<c>spiffe_trust_domains</c>).
    /// </summary>
    AnySource = 0,

    /// <summary>
    /// Only the source the pattern's form implies: a SPIFFE ID pattern matches JWT-SVIDs and X509-SVIDs of its
    /// trust domain, anything else OIDC identities. Admins: the strongest reading of what was written.
    /// </summary>
    Implied = 1,
}
