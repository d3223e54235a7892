
namespace Broker.Grants;

/// <summary>
/// How both stores allocate status list indexes (docs/architecture.md "The status list"), so that they allocate
/// alike: the times of one allocation, and the bit order of the list.
/// </summary>
/// <remarks>
/// A tenant's indexes are either never used (above the high-water mark) or held by the token that last got them until
/// it may be reused: its expiry plus <see cref="StatusListOptions.ReuseMargin"/>, rounded up to the next step of
/// <see cref="StatusListOptions.ReuseGranularity"/>. Free indexes are kept by that step; an allocation takes one from
/// the step that came due first, else raises the high-water mark. An index whose bit is still set (its last grant was
/// revoked) is not handed out at once: its bit is cleared and it waits out <see cref="StatusListOptions.Lifetime"/>
/// more, so that no list a verifier may still hold shows the new token as revoked.
/// </remarks>
internal static class StatusIndexing
{
    /// <summary>Free indexes an allocation looks at before it raises the high-water mark instead (bounds the work).</summary>
    public const int MaxReuseAttempts = 16;

    /// <summary>
    /// How long a tenant's list outlives the reuse time of its last index. When it goes, all of its indexes go with it
    /// (the list starts over at 0): by then every token that carried one has long expired, even on a clock far behind.
    /// </summary>
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromDays(1);

    /// <summary>The allocation of one grant expiring at <paramref name="expiry"/>, recorded at <paramref name="now"/> (Unix ms).</summary>
    public static StatusIndexPlan Plan(StatusListOptions options, long expiry, long now)
    {
        ArgumentNullException.ThrowIfNull(options);
        var step = Math.Max(1, (long)options.ReuseGranularity.TotalMilliseconds);
        var reusableAt = RoundUp(expiry + (long)options.ReuseMargin.TotalMilliseconds, step);
        var quarantineUntil = RoundUp(now + (long)(options.Lifetime + options.ReuseMargin).TotalMilliseconds, step);
        var lifetime = Math.Max(reusableAt, quarantineUntil) - now + (long)IdleLifetime.TotalMilliseconds;
        return new StatusIndexPlan(options.Enabled ? options.Capacity : 0, reusableAt, quarantineUntil, step, lifetime);
    }

    /// <summary>Whether <paramref name="index"/> is set: bit <c>index % 8</c> (least significant first) of byte <c>index / 8</c>.</summary>
    public static bool Get(ReadOnlySpan<byte> list, int index)
        => index >> 3 < list.Length && ((list[index >> 3] >> (index & 7)) & 1) != 0;

    /// <summary>Sets or clears <paramref name="index"/> in <paramref name="list"/>, which must be long enough.</summary>
    public static void Set(Span<byte> list, int index, bool value)
    {
        var mask = (byte)(1 << (index & 7));
        list[index >> 3] = value ? (byte)(list[index >> 3] | mask) : (byte)(list[index >> 3] & ~mask);
    }

    /// <summary>
    /// The Redis <c>SETBIT</c> offset of <paramref name="index"/>. Redis numbers the bits of a byte from the most
    /// significant, the draft from the least (§4.1), so the bit is mirrored within its byte and the bytes of the Redis
    /// string are then the list exactly as served. The scripts compute the same.
    /// </summary>
    public static long RedisOffset(int index) => index - (index & 7) + 7 - (index & 7);

    private static long RoundUp(long value, long step) => (value + step - 1) / step * step;
}

/// <summary>The times of one allocation, Unix ms.</summary>
/// <param name="Capacity">Indexes in the list; 0 when the status list is off (nothing is allocated).</param>
/// <param name="ReusableAt">When the index this grant gets may go to another grant.</param>
/// <param name="QuarantineUntil">When an index found still marked revoked, and cleared now, may be handed out.</param>
/// <param name="Step">The granularity the times are multiples of.</param>
/// <param name="StateLifetime">How long the tenant's list must live from now at least (its TTL in Redis).</param>
internal readonly record struct StatusIndexPlan(int Capacity, long ReusableAt, long QuarantineUntil, long Step, long StateLifetime);
