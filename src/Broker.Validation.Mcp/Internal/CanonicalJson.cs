// Broker.Validation — resource servers honour broker tokens.

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// RFC 8785 JSON Canonicalization Scheme: object members sorted by their UTF-16 code units, no whitespace,
/// minimal string escaping, numbers as ECMAScript prints them. Two argument objects that mean the same JSON hash
/// alike however a client spaced, ordered or escaped them, so audit lines can be matched across systems.
/// </summary>
internal static class CanonicalJson
{
    /// <summary>Lower-case hex SHA-256 of the canonical form of <paramref name="arguments"/> (<c>{}</c> when absent).</summary>
    public static string Sha256(IDictionary<string, JsonElement>? arguments)
    {
        var builder = new StringBuilder();
        builder.Append('{');
        var first = true;
        foreach (var (name, value) in (arguments ?? new Dictionary<string, JsonElement>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!first)
            {
                builder.Append(',');
            }

            first = false;
            WriteString(builder, name);
            builder.Append(':');
            Write(builder, value);
        }

        builder.Append('}');
        return Hash(builder);
    }

    /// <summary>Lower-case hex SHA-256 of the canonical form of <paramref name="arguments"/>; <c>{}</c> when it is undefined or null.</summary>
    /// <exception cref="FormatException">An object has the same member twice (RFC 8785 §3.1 needs unique names).</exception>
    public static string Sha256(JsonElement arguments)
    {
        var builder = new StringBuilder();
        if (arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            builder.Append("{}");
        }
        else
        {
            Write(builder, arguments);
        }

        return Hash(builder);
    }

    /// <summary>The canonical text of <paramref name="element"/>.</summary>
    public static string Serialize(JsonElement element)
    {
        var builder = new StringBuilder();
        Write(builder, element);
        return builder.ToString();
    }

    private static string Hash(StringBuilder builder) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())));

    private static void Write(StringBuilder builder, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<JsonProperty>();
                foreach (var member in element.EnumerateObject())
                {
                    members.Add(member);
                }

                // Ordinal string comparison is a comparison of UTF-16 code units (RFC 8785 §3.2.3).
                members.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                builder.Append('{');
                for (var i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        if (string.Equals(members[i - 1].Name, members[i].Name, StringComparison.Ordinal))
                        {
                            throw new FormatException("A JSON object has the same member twice.");
                        }

                        builder.Append(',');
                    }

                    WriteString(builder, members[i].Name);
                    builder.Append(':');
                    Write(builder, members[i].Value);
                }

                builder.Append('}');
                break;
            case JsonValueKind.Array:
                builder.Append('[');
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        builder.Append(',');
                    }

                    firstItem = false;
                    Write(builder, item);
                }

                builder.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(builder, element.GetString()!);
                break;
            case JsonValueKind.Number:
                WriteNumber(builder, element.GetDouble());
                break;
            case JsonValueKind.True:
                builder.Append("true");
                break;
            case JsonValueKind.False:
                builder.Append("false");
                break;
            default:
                builder.Append("null");
                break;
        }
    }

    /// <summary>RFC 8785 §3.2.2.2: escape only <c>"</c>, <c>\</c> and control characters, with the short forms where JSON has them.</summary>
    private static void WriteString(StringBuilder builder, string value)
    {
        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\b':
                    builder.Append("\\b");
                    break;
                case '\f':
                    builder.Append("\\f");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case < ' ':
                    builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        builder.Append('"');
    }

    /// <summary>
    /// RFC 8785 §3.2.2.3: the ECMAScript Number-to-String of the IEEE 754 double. .NET's "R" gives the same shortest
    /// round-trip digits; only the layout (where the point goes, when an exponent is used) is ECMAScript's.
    /// </summary>
    internal static void WriteNumber(StringBuilder builder, double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new FormatException("JSON numbers are finite.");
        }

        if (value == 0)
        {
            builder.Append('0');
            return;
        }

        if (value < 0)
        {
            builder.Append('-');
            value = -value;
        }

        // Digits d1..dk and exponent n such that value = 0.d1..dk × 10^n (ECMA-262 Number::toString).
        var shortest = value.ToString("R", CultureInfo.InvariantCulture);
        var (digits, exponent) = Decompose(shortest);
        var k = digits.Length;
        var n = exponent;
        if (k <= n && n <= 21)
        {
            builder.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            builder.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            builder.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            builder.Append(digits[0]);
            if (k > 1)
            {
                builder.Append('.').Append(digits, 1, k - 1);
            }

            builder.Append('e').Append(n - 1 >= 0 ? '+' : '-').Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Splits .NET's shortest round-trip text ("1.2345E-07", "123.45", "1E+21") into significant digits and n.</summary>
    private static (string Digits, int Exponent) Decompose(string text)
    {
        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        var mantissa = text;
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = text[..e];
        }

        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var integerPart = point >= 0 ? mantissa[..point] : mantissa;
        var fraction = point >= 0 ? mantissa[(point + 1)..] : "";
        var all = integerPart + fraction;
        var leadingZeros = all.Length - all.TrimStart('0').Length;
        var digits = all.Trim('0');
        // value = 0.all × 10^(integerPart.Length + exponent); dropping leading zeros moves the point right.
        var n = integerPart.Length + exponent - leadingZeros;
        return (digits, n);
    }
}
