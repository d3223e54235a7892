using System.Globalization;

namespace Broker.Benchmarks;

/// <summary>
/// The command line of the report commands (<c>policy-scale</c>, <c>revocation-scale</c>, <c>grant-memory</c>): options
/// that take a value (<c>--runs 5</c>, <c>--grants 1000,10000</c>, <c>--out FILE</c>) and flags (<c>--no-derived</c>).
/// An unknown argument, an option without its value, or a count that is not a positive integer is a usage error: the
/// command prints its usage and exits with 2.
/// </summary>
internal sealed class ReportArguments
{
    private readonly Dictionary<string, string?> _given;

    private ReportArguments(Dictionary<string, string?> given) => _given = given;

    /// <summary>Reads <paramref name="args"/>; null when one is not among <paramref name="options"/> or <paramref name="flags"/>.</summary>
    public static ReportArguments? Parse(string[] args, IReadOnlyCollection<string> options, IReadOnlyCollection<string>? flags = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var given = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (options.Contains(args[i]) && i + 1 < args.Length)
            {
                given[args[i]] = args[++i];
            }
            else if (flags?.Contains(args[i]) == true)
            {
                given[args[i]] = null;
            }
            else
            {
                return null;
            }
        }

        return new ReportArguments(given);
    }

    /// <summary>Whether the flag <paramref name="name"/> was given.</summary>
    public bool Has(string name) => _given.ContainsKey(name);

    /// <summary>The value of <paramref name="name"/>, or null when it was not given.</summary>
    public string? Text(string name) => _given.GetValueOrDefault(name);

    /// <summary>The positive integer <paramref name="name"/> gives, or <paramref name="fallback"/>; false when malformed.</summary>
    public bool TryPositive(string name, int fallback, out int value)
    {
        value = fallback;
        return Text(name) is not { } text || TryParsePositive(text, out value);
    }

    /// <summary>The comma-separated positive integers <paramref name="name"/> gives, or <paramref name="fallback"/>; false when malformed.</summary>
    public bool TryPositives(string name, int[] fallback, out int[] values)
    {
        values = fallback;
        if (Text(name) is not { } text)
        {
            return true;
        }

        List<int> parsed = [];
        foreach (var part in text.Split(','))
        {
            if (!TryParsePositive(part, out var n))
            {
                return false;
            }

            parsed.Add(n);
        }

        values = [.. parsed];
        return true;
    }

    private static bool TryParsePositive(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;
}
