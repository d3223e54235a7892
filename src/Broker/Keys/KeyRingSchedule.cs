namespace Broker.Keys;

/// <summary>The life of a key in the ring.</summary>
internal enum KeyState
{
    /// <summary>Published, not signing yet.</summary>
    Next = 0,

    /// <summary>Signs new tokens; published.</summary>
    Active = 1,

    /// <summary>No longer signs; published until the last token it signed has expired.</summary>
    Retired = 2,

    /// <summary>Gone from the JWKS (and, once the ring is tidied, from Redis).</summary>
    Removed = 3,
}

/// <summary>A key with its state at one instant, and the times that state follows from.</summary>
internal sealed record KeyStatus(StoredKey Key, KeyState State, DateTimeOffset? RetiredAt, DateTimeOffset? RemoveAt);

/// <summary>The timings the ring's rules depend on.</summary>
/// <param name="Retention">How long a retired key stays published: the longest a token it signed lives, plus verifiers' clock skew.</param>
/// <param name="SafePublication">
/// The shortest time a key is published before it signs when an admin rotates: the JWKS max-age (a verifier that
/// trusts its cache has refetched) plus two polls (every replica has read the ring).
/// </param>
/// <param name="Interval">How long a key signs on the schedule.</param>
/// <param name="PrePublication">How long ahead of its turn the schedule publishes the next key.</param>
/// <param name="Automatic">Whether the schedule adds next keys by itself.</param>
internal sealed record KeyRingTimings(TimeSpan Retention, TimeSpan SafePublication, TimeSpan Interval, TimeSpan PrePublication, bool Automatic);

/// <summary>What tidying the ring came to: the keys to store, and when a new key must activate, if one is needed.</summary>
internal sealed record KeyRingPlan(IReadOnlyList<StoredKey> Keys, bool Changed, DateTimeOffset? NewKeyActivatesAt);

/// <summary>The outcome of an admin's retirement of a key.</summary>
internal abstract record RetireOutcome
{
    private RetireOutcome()
    {
    }

    internal sealed record Retired(IReadOnlyList<StoredKey> Keys, StoredKey Key) : RetireOutcome;

    internal sealed record AlreadyRetired(KeyStatus Status) : RetireOutcome;

    internal sealed record NotFound : RetireOutcome;

    internal sealed record IsActive : RetireOutcome;

    internal sealed record ActivatesSoon : RetireOutcome;
}

/// <summary>
/// The ring's rules, as pure functions of the stored keys and the clock. A key's state is never stored: it follows
/// from its times, so every replica computes the same state at the same instant, and a replica that has not yet heard
/// of a change still switches keys on time (it read the next key long before, when it was published).
/// </summary>
/// <remarks>
/// The active key is the latest one whose activation time has come, provided it was not retired before that; every
/// earlier key is retired from the moment its successor activated, and published until that moment plus
/// <see cref="KeyRingTimings.Retention"/>. A key retired before it activated never signs and leaves at once.
/// </remarks>
internal static class KeyRingSchedule
{
    /// <summary>Every key with its state at <paramref name="now"/>, in activation order.</summary>
    public static IReadOnlyList<KeyStatus> Evaluate(IReadOnlyList<StoredKey> keys, DateTimeOffset now, TimeSpan retention)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ordered = Order(keys);
        var signing = ordered.Where(EverSigns).ToList();
        var latest = signing.LastOrDefault(k => k.ActivatesAt <= now);
        var active = latest is not null && !(latest.RetiredAt <= now) ? latest : null;

        var statuses = new List<KeyStatus>(ordered.Count);
        foreach (var key in ordered)
        {
            if (!EverSigns(key))
            {
                var removeAt = key.RemoveAt ?? key.RetiredAt;
                statuses.Add(new KeyStatus(key, removeAt <= now ? KeyState.Removed : KeyState.Retired, key.RetiredAt, removeAt));
                continue;
            }

            // Superseded: retired from the moment the next signing key activated, if that came first.
            var successor = signing.FirstOrDefault(k => Compare(k, key) > 0 && k.ActivatesAt <= now);
            var retiredAt = Earliest(key.RetiredAt, successor?.ActivatesAt);
            var removeAtEffective = key.RemoveAt ?? retiredAt + retention;

            var state = removeAtEffective <= now ? KeyState.Removed
                : retiredAt <= now ? KeyState.Retired
                : ReferenceEquals(key, active) ? KeyState.Active
                : key.ActivatesAt > now ? KeyState.Next
                : KeyState.Retired;
            statuses.Add(new KeyStatus(key, state, retiredAt, removeAtEffective));
        }

        return statuses;
    }

    /// <summary>The first instant after <paramref name="now"/> at which some key changes state; null when none will.</summary>
    public static DateTimeOffset? NextChange(IReadOnlyList<KeyStatus> statuses, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        DateTimeOffset? next = null;
        foreach (var status in statuses)
        {
            foreach (var time in new[] { status.Key.ActivatesAt, status.RetiredAt, status.RemoveAt })
            {
                if (time > now && (next is null || time < next))
                {
                    next = time;
                }
            }
        }

        return next;
    }

    /// <summary>
    /// What the rotating replica does on its schedule: records the retirements the clock has made, drops removed keys,
    /// and asks for a new key when the ring is empty or (automatic rotation) the active key's successor is due to be
    /// published.
    /// </summary>
    public static KeyRingPlan Plan(IReadOnlyList<StoredKey> keys, DateTimeOffset now, KeyRingTimings timings)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(timings);
        var statuses = Evaluate(keys, now, timings.Retention);
        var changed = false;
        List<StoredKey> kept = [];
        foreach (var status in statuses)
        {
            if (status.State == KeyState.Removed)
            {
                changed = true;
                continue;
            }

            if (status.State == KeyState.Retired && (status.Key.RetiredAt is null || status.Key.RemoveAt is null))
            {
                kept.Add(status.Key with { RetiredAt = status.RetiredAt, RemoveAt = status.RemoveAt });
                changed = true;
                continue;
            }

            kept.Add(status.Key);
        }

        var active = statuses.FirstOrDefault(s => s.State == KeyState.Active);
        var hasNext = statuses.Any(s => s.State == KeyState.Next);
        DateTimeOffset? newKey = null;
        if (active is null && !hasNext)
        {
            // An empty ring has published nothing that a verifier could have cached: its first key signs at once.
            // A ring that lost its active key some other way gets a key that is published before it signs.
            newKey = keys.Count == 0 ? now : now + timings.SafePublication;
        }
        else if (timings.Automatic && active is not null && !hasNext)
        {
            var turn = active.Key.ActivatesAt + timings.Interval;
            if (now >= turn - timings.PrePublication)
            {
                // Never sooner than a full pre-publication from now, even when the schedule is overdue (all replicas
                // were down): verifiers must have the chance to see the key before it signs.
                newKey = Latest(turn, now + timings.PrePublication);
            }
        }

        return new KeyRingPlan(kept, changed, newKey);
    }

    /// <summary>
    /// An admin's rotation: the earliest next key signs as soon as it has been published for
    /// <see cref="KeyRingTimings.SafePublication"/> (at once, when it was published long ago), and the active key
    /// retires at that moment. A null next key in the result: there was none, and a new one must be
    /// added to activate at the returned time.
    /// </summary>
    public static (IReadOnlyList<StoredKey> Keys, StoredKey? Next, DateTimeOffset ActivatesAt) Rotate(IReadOnlyList<StoredKey> keys, DateTimeOffset now, KeyRingTimings timings)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(timings);
        var statuses = Evaluate(keys, now, timings.Retention);
        var next = statuses.Where(s => s.State == KeyState.Next).Select(s => s.Key).FirstOrDefault();
        var activatesAt = next is null ? now + timings.SafePublication : Latest(now, next.CreatedAt + timings.SafePublication);
        var active = statuses.FirstOrDefault(s => s.State == KeyState.Active)?.Key;
        var updated = keys.Select(k =>
            ReferenceEquals(k, next) ? k with { ActivatesAt = activatesAt }
            : ReferenceEquals(k, active) ? k with { RetiredAt = activatesAt, RemoveAt = activatesAt + timings.Retention }
            : k).ToList();
        return (updated, next is null ? null : updated.First(k => k.Kid == next.Kid), activatesAt);
    }

    /// <summary>
    /// An admin's retirement of <paramref name="kid"/>. The active key cannot be retired (rotate first); a next key
    /// that never signed leaves at once, unless it is about to activate (replicas that have not heard of the
    /// retirement yet would sign with it).
    /// </summary>
    public static RetireOutcome Retire(IReadOnlyList<StoredKey> keys, string kid, DateTimeOffset now, KeyRingTimings timings)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(timings);
        var status = Evaluate(keys, now, timings.Retention).FirstOrDefault(s => string.Equals(s.Key.Kid, kid, StringComparison.Ordinal));
        switch (status?.State)
        {
            case null or KeyState.Removed:
                return new RetireOutcome.NotFound();
            case KeyState.Active:
                return new RetireOutcome.IsActive();
            case KeyState.Retired:
                return new RetireOutcome.AlreadyRetired(status);
            default:
                if (status.Key.ActivatesAt < now + timings.SafePublication)
                {
                    return new RetireOutcome.ActivatesSoon();
                }

                var retired = status.Key with { RetiredAt = now, RemoveAt = now };
                return new RetireOutcome.Retired([.. keys.Select(k => ReferenceEquals(k, status.Key) ? retired : k)], retired);
        }
    }

    private static bool EverSigns(StoredKey key) => key.RetiredAt is not { } retired || retired > key.ActivatesAt;

    private static List<StoredKey> Order(IReadOnlyList<StoredKey> keys) =>
        [.. keys.OrderBy(k => k.ActivatesAt).ThenBy(k => k.CreatedAt).ThenBy(k => k.Kid, StringComparer.Ordinal)];

    private static int Compare(StoredKey a, StoredKey b)
    {
        var byActivation = a.ActivatesAt.CompareTo(b.ActivatesAt);
        if (byActivation != 0)
        {
            return byActivation;
        }

        var byCreation = a.CreatedAt.CompareTo(b.CreatedAt);
        return byCreation != 0 ? byCreation : string.CompareOrdinal(a.Kid, b.Kid);
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) =>
        (a, b) switch
        {
            ({ } x, { } y) => x < y ? x : y,
            _ => a ?? b,
        };

    private static DateTimeOffset Latest(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
