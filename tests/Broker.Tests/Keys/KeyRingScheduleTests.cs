using Broker.Keys;

namespace Broker.Tests.Keys;

/// <summary>The ring's rules as pure functions of stored times and the clock.</summary>
public sealed class KeyRingScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly KeyRingTimings Timings = new(
        Retention: TimeSpan.FromHours(1), SafePublication: TimeSpan.FromMinutes(5), Interval: TimeSpan.FromDays(7), PrePublication: TimeSpan.FromDays(1), Automatic: true);

    private static StoredKey Key(string kid, DateTimeOffset created, DateTimeOffset activates, DateTimeOffset? retired = null, DateTimeOffset? remove = null) => new()
    {
        Kid = kid, CreatedAt = created, ActivatesAt = activates, RetiredAt = retired, RemoveAt = remove,
        Origin = KeyOrigins.Generated, X = "x", Y = "y", ProtectedPrivateKey = "p",
    };

    [Fact]
    public void Evaluate_NextKeyActivates_OldOneRetiresThenLeavesAfterRetention()
    {
        // Arrange
        IReadOnlyList<StoredKey> keys = [Key("a", T0, T0), Key("b", T0 + TimeSpan.FromDays(6), T0 + TimeSpan.FromDays(7))];

        // Act
        var before = KeyRingSchedule.Evaluate(keys, T0 + TimeSpan.FromDays(6.5), Timings.Retention);
        var after = KeyRingSchedule.Evaluate(keys, T0 + TimeSpan.FromDays(7), Timings.Retention);
        var gone = KeyRingSchedule.Evaluate(keys, T0 + TimeSpan.FromDays(7) + TimeSpan.FromHours(1), Timings.Retention);

        // Assert
        Assert.Equal([KeyState.Active, KeyState.Next], before.Select(s => s.State));
        Assert.Equal([KeyState.Retired, KeyState.Active], after.Select(s => s.State));
        Assert.Equal(T0 + TimeSpan.FromDays(7) + TimeSpan.FromHours(1), after[0].RemoveAt);
        Assert.Equal([KeyState.Removed, KeyState.Active], gone.Select(s => s.State));
        Assert.Equal(T0 + TimeSpan.FromDays(7), KeyRingSchedule.NextChange(before, T0 + TimeSpan.FromDays(6.5)));
    }

    [Fact]
    public void Evaluate_AKeyRetiredBeforeItActivated_NeverSigns_AndTheActiveKeyStays()
    {
        IReadOnlyList<StoredKey> keys = [Key("a", T0, T0), Key("b", T0, T0 + TimeSpan.FromDays(1), retired: T0 + TimeSpan.FromHours(1), remove: T0 + TimeSpan.FromHours(1))];

        var statuses = KeyRingSchedule.Evaluate(keys, T0 + TimeSpan.FromDays(2), Timings.Retention);

        Assert.Equal([KeyState.Active, KeyState.Removed], statuses.Select(s => s.State));
    }

    [Fact]
    public void Plan_EmptyRing_FirstKeySignsAtOnce_ThenTheNextIsDueOnlyPrePublicationAheadOfItsTurn()
    {
        var empty = KeyRingSchedule.Plan([], T0, Timings);
        IReadOnlyList<StoredKey> one = [Key("a", T0, T0)];
        var early = KeyRingSchedule.Plan(one, T0 + TimeSpan.FromDays(5.9), Timings);
        var due = KeyRingSchedule.Plan(one, T0 + TimeSpan.FromDays(6), Timings);
        var overdue = KeyRingSchedule.Plan(one, T0 + TimeSpan.FromDays(30), Timings);

        Assert.Equal(T0, empty.NewKeyActivatesAt);
        Assert.Null(early.NewKeyActivatesAt);
        Assert.Equal(T0 + TimeSpan.FromDays(7), due.NewKeyActivatesAt);

        // All replicas were down past the turn: the new key is still published a full day before it signs.
        Assert.Equal(T0 + TimeSpan.FromDays(31), overdue.NewKeyActivatesAt);
        Assert.Null(KeyRingSchedule.Plan(one, T0 + TimeSpan.FromDays(6), Timings with { Automatic = false }).NewKeyActivatesAt);
    }

    [Fact]
    public void Rotate_NextPublishedLongAgo_SignsAtOnce_ANewOneOnlyAfterTheSafePublicationDelay()
    {
        var now = T0 + TimeSpan.FromDays(6.5);
        IReadOnlyList<StoredKey> keys = [Key("a", T0, T0), Key("b", T0 + TimeSpan.FromDays(6), T0 + TimeSpan.FromDays(7))];

        var (rotated, next, at) = KeyRingSchedule.Rotate(keys, now, Timings);
        var (_, none, later) = KeyRingSchedule.Rotate([Key("a", T0, T0)], now, Timings);
        var (_, recent, soon) = KeyRingSchedule.Rotate([Key("a", T0, T0), Key("c", now - TimeSpan.FromMinutes(1), now + TimeSpan.FromDays(1))], now, Timings);

        Assert.Equal(now, at);
        Assert.Equal("b", next!.Kid);
        Assert.Equal(now, rotated.Single(k => k.Kid == "a").RetiredAt);
        Assert.Equal([KeyState.Retired, KeyState.Active], KeyRingSchedule.Evaluate(rotated, now, Timings.Retention).Select(s => s.State));
        Assert.Null(none);
        Assert.Equal(now + Timings.SafePublication, later);
        Assert.Equal("c", recent!.Kid);
        Assert.Equal(now + TimeSpan.FromMinutes(4), soon);
    }

    [Fact]
    public void Retire_EachStateGetsItsOutcome()
    {
        // Tokens live up to two days here, so the key retired a day ago is still published.
        var timings = Timings with { Retention = TimeSpan.FromDays(2) };
        var now = T0 + TimeSpan.FromDays(8);
        IReadOnlyList<StoredKey> keys =
        [
            Key("old", T0, T0),
            Key("active", T0 + TimeSpan.FromDays(6), T0 + TimeSpan.FromDays(7)),
            Key("next", now, now + TimeSpan.FromDays(6)),
            Key("soon", now - TimeSpan.FromDays(1), now + TimeSpan.FromMinutes(1)),
        ];

        Assert.IsType<RetireOutcome.NotFound>(KeyRingSchedule.Retire(keys, "nope", now, timings));
        Assert.IsType<RetireOutcome.IsActive>(KeyRingSchedule.Retire(keys, "active", now, timings));
        Assert.IsType<RetireOutcome.AlreadyRetired>(KeyRingSchedule.Retire(keys, "old", now, timings));
        Assert.IsType<RetireOutcome.ActivatesSoon>(KeyRingSchedule.Retire(keys, "soon", now, timings));
        var retired = Assert.IsType<RetireOutcome.Retired>(KeyRingSchedule.Retire(keys, "next", now, timings));
        Assert.Equal(KeyState.Removed, KeyRingSchedule.Evaluate(retired.Keys, now, timings.Retention).Single(s => s.Key.Kid == "next").State);
    }
}
