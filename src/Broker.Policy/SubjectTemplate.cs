using System.Text;

namespace Broker.Policy;

/// <summary>
/// Maps an OIDC token's claims to a workload identity, e.g. <c>{sub}</c> or
/// <c>spiffe://k8s.example/ns/{kubernetes.io/namespace}/sa/{kubernetes.io/serviceaccount/name}</c>.
/// Placeholders name claims by path (<c>/</c> between nested members).
/// </summary>
public sealed class SubjectTemplate
{
    private const int MaxValueLength = 256;
    private readonly (string Literal, string? Claim)[] _parts;

    private SubjectTemplate((string, string?)[] parts) => _parts = parts;

    /// <summary>Parses a template; every <c>{</c> must close and name a claim.</summary>
    /// <param name="text">The template as written in policy (<c>subject:</c>).</param>
    /// <param name="template">The parsed template, or null.</param>
    /// <param name="error">Why it is not a template, or null.</param>
    /// <returns>True when <paramref name="text"/> is a template.</returns>
    public static bool TryParse(string text, out SubjectTemplate? template, out string? error)
    {
        template = null;
        error = null;
        var parts = new List<(string, string?)>();
        var index = 0;
        while (index < text.Length)
        {
            var open = text.IndexOf('{', index);
            if (open < 0)
            {
                parts.Add((text[index..], null));
                break;
            }

            var close = text.IndexOf('}', open);
            if (close < 0 || close == open + 1)
            {
                error = "the subject template has an unclosed or empty '{…}' placeholder";
                return false;
            }

            parts.Add((text[index..open], text[(open + 1)..close]));
            index = close + 1;
        }

        if (!parts.Any(p => p.Item2 is not null))
        {
            error = "the subject template must contain at least one {claim} placeholder";
            return false;
        }

        template = new SubjectTemplate([.. parts]);
        return true;
    }

    /// <summary>
    /// Renders the identity, or null when a claim is missing or unsafe. Claim values may not contain
    /// <c>/</c> unless the template is a single placeholder: a namespace named <c>a/../b</c> must not
    /// be able to forge a path of another identity.
    /// </summary>
    /// <param name="claims">The token's claims, flattened by path.</param>
    /// <returns>The workload identity, or null.</returns>
    public string? Render(IReadOnlyDictionary<string, IReadOnlyList<string>> claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var single = _parts.Length == 1 && _parts[0].Literal.Length == 0;
        var builder = new StringBuilder();
        foreach (var (literal, claim) in _parts)
        {
            builder.Append(literal);
            if (claim is null)
            {
                continue;
            }

            if (!claims.TryGetValue(claim, out var values) || values.Count != 1 || !IsSafeValue(values[0], allowSlash: single))
            {
                return null;
            }

            builder.Append(values[0]);
        }

        return builder.ToString();
    }

    private static bool IsSafeValue(string value, bool allowSlash)
    {
        if (value.Length is 0 or > MaxValueLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '@' or '+' or '=' or '-' || (allowSlash && c == '/');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
