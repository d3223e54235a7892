using System.Globalization;

namespace Broker.Policy;

/// <summary>
/// A rate, written <c>N/s</c>, <c>N/m</c> or <c>N/h</c> (in policy and in <c>Broker:RateLimits</c>), or
/// <c>off</c>. Enforced as a token bucket of <c>N</c> requests that refills continuously at <c>N</c> per
/// second, minute or hour: a burst of up to <c>N</c>, then <c>N</c> per period on average.
/// </summary>
/// <param name="Permits">Requests per period; 0 means no limit.</param>
/// <param name="Period">The refill period.</param>
public readonly record struct RateLimit(int Permits, TimeSpan Period)
{
    /// <summary>The largest <c>N</c> accepted.</summary>
    public const int MaxPermits = 1_000_000;

    /// <summary>No limit (<c>off</c>).</summary>
    public static RateLimit Unlimited => default;

    /// <summary>True for <c>off</c>.</summary>
    public bool IsUnlimited => Permits == 0;

    /// <summary>Parses <c>N/s</c>, <c>N/m</c>, <c>N/h</c> (N from 1 to <see cref="MaxPermits"/>) or <c>off</c>.</summary>
    /// <param name="text">The rate as written.</param>
    /// <param name="limit">The rate, or <see cref="Unlimited"/> when the text is not one.</param>
    /// <returns>True when <paramref name="text"/> is a rate.</returns>
    public static bool TryParse(string? text, out RateLimit limit)
    {
        limit = Unlimited;
        if (string.Equals(text, "off", StringComparison.Ordinal))
        {
            return true;
        }

        if (text is null || text.Length < 3 || text[^2] != '/'
            || !int.TryParse(text.AsSpan(0, text.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var permits)
            || permits is < 1 or > MaxPermits)
        {
            return false;
        }

        TimeSpan? period = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            _ => null,
        };
        if (period is null)
        {
            return false;
        }

        limit = new RateLimit(permits, period.Value);
        return true;
    }

    /// <summary>The text <see cref="TryParse"/> reads back.</summary>
    /// <returns><c>N/s</c>, <c>N/m</c>, <c>N/h</c> or <c>off</c>.</returns>
    public override string ToString() => IsUnlimited
        ? "off"
        : string.Create(CultureInfo.InvariantCulture, $"{Permits}/{(Period == TimeSpan.FromSeconds(1) ? 's' : Period == TimeSpan.FromMinutes(1) ? 'm' : 'h')}");
}
