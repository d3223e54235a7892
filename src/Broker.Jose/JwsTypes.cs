// Broker.Jose — the strict compact-JWS gate.

namespace Broker.Jose;

/// <summary>
/// The <c>typ</c> header values a reader accepts (RFC 7515 §4.1.9, RFC 8725 §3.11): explicit typing keeps one kind of
/// token from being accepted where another is expected, such as a DPoP proof or a logout token presented as an
/// identity. Immutable.
/// </summary>
/// <remarks>
/// Values are media types, so they compare case-insensitively, and the <c>application/</c> prefix is optional
/// (RFC 7515 §4.1.9): <c>application/AT+JWT</c> is <c>at+jwt</c>.
/// </remarks>
public sealed class JwsTypes
{
    private const string ApplicationPrefix = "application/";
    private readonly string[] _names;

    private JwsTypes(bool allowsAbsent, string[] names)
    {
        AllowsAbsent = allowsAbsent;
        _names = names;
    }

    /// <summary>A plain JWT: no <c>typ</c>, <c>JWT</c> (RFC 7519 §5.1) or <c>JOSE</c> (RFC 7515 §4.1.9). What workload identity tokens carry.</summary>
    public static JwsTypes Jwt { get; } = new(true, ["jwt", "jose"]);

    /// <summary>A JWT access token: <c>at+jwt</c>, required (RFC 9068 §2.1).</summary>
    public static JwsTypes AccessToken { get; } = new(false, ["at+jwt"]);

    /// <summary>A DPoP proof: <c>dpop+jwt</c>, required (RFC 9449 §4.2).</summary>
    public static JwsTypes DpopProof { get; } = new(false, ["dpop+jwt"]);

    /// <summary>True when a token without <c>typ</c> is accepted.</summary>
    public bool AllowsAbsent { get; }

    /// <summary>The accepted values, lower case, without the <c>application/</c> prefix.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>A set of <paramref name="names"/> (each without the <c>application/</c> prefix).</summary>
    /// <param name="allowAbsent">Whether a token without <c>typ</c> is accepted.</param>
    /// <param name="names">The accepted values, such as <c>dpop+jwt</c>.</param>
    /// <exception cref="ArgumentException">A name is empty or has the <c>application/</c> prefix.</exception>
    public static JwsTypes Of(bool allowAbsent, params IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var list = new List<string>();
        foreach (var name in names)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(names));
            if (name.StartsWith(ApplicationPrefix, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException("jose: give typ names without the application/ prefix.", nameof(names));
            }

            list.Add(name.ToLowerInvariant());
        }

        return new JwsTypes(allowAbsent, [.. list.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>The values accepted by this set or by <paramref name="other"/>.</summary>
    public JwsTypes Union(JwsTypes other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new JwsTypes(AllowsAbsent || other.AllowsAbsent, [.. _names.Union(other._names, StringComparer.Ordinal)]);
    }

    /// <summary>True when a token whose <c>typ</c> is <paramref name="typ"/> (null: absent) is accepted.</summary>
    public bool Contains(string? typ)
    {
        if (typ is null)
        {
            return AllowsAbsent;
        }

        var name = typ.AsSpan();
        if (name.StartsWith(ApplicationPrefix, StringComparison.OrdinalIgnoreCase))
        {
            name = name[ApplicationPrefix.Length..];
        }

        foreach (var accepted in _names)
        {
            if (name.Equals(accepted, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public override string ToString() => (AllowsAbsent ? "(absent), " : string.Empty) + string.Join(", ", _names);
}
