using System.Globalization;

namespace Broker.Grants;

/// <summary>
/// A position in a tenant's revocation stream: <c>&lt;milliseconds&gt;-&lt;sequence&gt;</c>, the shape of a Redis
/// stream ID (<c>1712345678901-3</c>), which both stores write. Positions are ordered by milliseconds, then by
/// sequence; <see cref="Start"/> (<c>0-0</c>) comes before any entry.
/// </summary>
/// <remarks>
/// Clients see positions as the server-sent-events <c>id</c> and send them back as <c>Last-Event-ID</c>: parse them
/// with <see cref="TryParse"/>, which accepts only what <see cref="ToString"/> could have written (up to leading
/// zeros), so no other text reaches a Redis command. <see cref="ToString"/> is canonical: no leading zeros.
/// </remarks>
/// <param name="Milliseconds">The Unix time, in milliseconds, of the entry (or, for Redis, of the newest entry when the clock went back).</param>
/// <param name="Sequence">Orders the entries of one millisecond, from 0.</param>
internal readonly record struct StreamPosition(ulong Milliseconds, ulong Sequence) : IComparable<StreamPosition>
{
    /// <summary>The longest text <see cref="TryParse"/> accepts: two 20-digit numbers and the dash.</summary>
    public const int MaxLength = 41;

    /// <summary>
    /// <c>0-0</c>: before every entry. The position of a stream that has none yet; Redis never gives it to an entry.
    /// </summary>
    public static StreamPosition Start { get; }

    /// <summary>The largest position: nothing can follow it.</summary>
    public static StreamPosition MaxValue { get; } = new(ulong.MaxValue, ulong.MaxValue);

    /// <summary>
    /// Reads a position sent from outside (<c>Last-Event-ID</c>): two runs of ASCII digits joined by one <c>-</c>, each
    /// fitting 64 bits, at most <see cref="MaxLength"/> characters in all. False for anything else (signs, spaces,
    /// a missing part, Redis's shorthands <c>-</c>, <c>+</c> or a bare number).
    /// </summary>
    public static bool TryParse(string? value, out StreamPosition position)
    {
        position = default;
        if (value is null || value.Length > MaxLength)
        {
            return false;
        }

        var dash = value.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0
            || !ulong.TryParse(value.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
            || !ulong.TryParse(value.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            return false;
        }

        position = new StreamPosition(milliseconds, sequence);
        return true;
    }

    /// <summary>Reads a position the store itself wrote (a Redis reply); throws <see cref="FormatException"/> for anything else.</summary>
    public static StreamPosition Parse(string value)
        => TryParse(value, out var position) ? position : throw new FormatException("Not a revocation stream position.");

    /// <summary>
    /// The position Redis gives the next entry appended at <paramref name="unixMilliseconds"/> after this one
    /// (<c>XADD *</c>): that millisecond with sequence 0, or, when the clock has not moved past this position, the
    /// same millisecond with the next sequence. Always after this position.
    /// </summary>
    public StreamPosition Next(long unixMilliseconds)
        => unixMilliseconds > 0 && (ulong)unixMilliseconds > Milliseconds
            ? new StreamPosition((ulong)unixMilliseconds, 0)
            : new StreamPosition(Milliseconds, checked(Sequence + 1));

    /// <inheritdoc />
    public int CompareTo(StreamPosition other)
    {
        var order = Milliseconds.CompareTo(other.Milliseconds);
        return order != 0 ? order : Sequence.CompareTo(other.Sequence);
    }

    /// <summary><c>&lt;milliseconds&gt;-&lt;sequence&gt;</c>, without leading zeros.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds}-{Sequence}");

    public static bool operator <(StreamPosition left, StreamPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(StreamPosition left, StreamPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(StreamPosition left, StreamPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(StreamPosition left, StreamPosition right) => left.CompareTo(right) >= 0;
}
