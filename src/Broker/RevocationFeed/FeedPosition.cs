namespace Broker.RevocationFeed;

/// <summary>
/// The syntax and order of revocation stream positions. Positions are opaque to clients, but the feed must order
/// them to skip a live notification it already sent from history: both stores write runs of decimal digits joined
/// by <c>-</c> (Redis stream IDs <c>1796161705123-0</c>, the in-memory store's single counter), ordered part by part
/// as numbers.
/// </summary>
internal static class FeedPosition
{
    /// <summary>The longest position accepted (a Redis stream ID is at most 41 characters).</summary>
    public const int MaxLength = 64;

    private static readonly System.Buffers.SearchValues<char> Allowed = System.Buffers.SearchValues.Create("0123456789-");

    /// <summary>Whether <paramref name="value"/> is shaped like a position; the store checks the rest.</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is > 0 and <= MaxLength
        && value[0] != '-' && value[^1] != '-'
        && !value.Contains("--", StringComparison.Ordinal)
        && !value.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>Orders two positions of the same store; ordinal for anything not shaped like one.</summary>
    public static int Compare(string left, string right)
    {
        if (!IsWellFormed(left) || !IsWellFormed(right))
        {
            return string.CompareOrdinal(left, right);
        }

        var leftParts = left.Split('-');
        var rightParts = right.Split('-');
        for (var i = 0; i < Math.Min(leftParts.Length, rightParts.Length); i++)
        {
            var a = leftParts[i].TrimStart('0');
            var b = rightParts[i].TrimStart('0');
            var order = a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
            if (order != 0)
            {
                return order;
            }
        }

        return leftParts.Length.CompareTo(rightParts.Length);
    }
}
