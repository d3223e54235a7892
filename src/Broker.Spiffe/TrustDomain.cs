// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;

namespace Broker.Spiffe;

/// <summary>
/// A SPIFFE trust domain name, such as <c>example.org</c> (SPIFFE-ID §2.1).
/// </summary>
/// <remarks>
/// The name is validated strictly: non-empty, at most 255 characters, only <c>[a-z0-9._-]</c>.
/// Uppercase is rejected rather than folded, as go-spiffe does, so two spellings of one trust domain
/// can never select different bundles. The default value is the zero trust domain (<see cref="IsZero"/>).
/// </remarks>
public readonly record struct TrustDomain
{
    /// <summary>The maximum length of a trust domain name (SPIFFE-ID §2.1).</summary>
    public const int MaxLength = 255;

    internal const string SchemePrefix = "spiffe://";

    private readonly string? _name;

    private TrustDomain(string name) => _name = name;

    /// <summary>The trust domain name, for example <c>example.org</c>; empty for the zero value.</summary>
    public string Name => _name ?? string.Empty;

    /// <summary>The trust domain as a SPIFFE ID string, for example <c>spiffe://example.org</c>.</summary>
    public string IdString => SchemePrefix + Name;

    /// <summary>True for the default (unset) value.</summary>
    public bool IsZero => _name is null;

    /// <summary>
    /// Parses a trust domain given either as a bare name (<c>example.org</c>) or as the trust domain's
    /// SPIFFE ID (<c>spiffe://example.org</c>, no path). The Workload API keys bundle maps either way (spec §1).
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out TrustDomain trustDomain)
    {
        trustDomain = default;
        if (value is null)
        {
            return false;
        }

        var name = value.StartsWith(SchemePrefix, StringComparison.Ordinal) ? value.AsSpan(SchemePrefix.Length) : value.AsSpan();
        if (!IsValidName(name))
        {
            return false;
        }

        trustDomain = new TrustDomain(name.Length == value.Length ? value : name.ToString());
        return true;
    }

    /// <summary>
    /// Parses a trust domain from static, trusted input (configuration constants, tests).
    /// Use <see cref="TryParse"/> for anything that arrives at run time.
    /// </summary>
    /// <exception cref="FormatException">The value is not a valid trust domain.</exception>
    public static TrustDomain Parse(string value) =>
        TryParse(value, out var td) ? td : throw new FormatException("spiffeid: invalid trust domain name.");

    /// <summary>Returns <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    /// <summary>Validates a trust domain name: <c>[a-z0-9._-]{1,255}</c> (SPIFFE-ID §2.1).</summary>
    internal static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!IsTrustDomainChar(c))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsTrustDomainChar(char c) =>
        c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_';

    internal static TrustDomain FromValidatedName(string name) => new(name);
}
