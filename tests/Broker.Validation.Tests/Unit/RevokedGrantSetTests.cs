using Broker.Validation.Revocation;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Validation.Tests.Unit;

public sealed class RevokedGrantSetTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Check_RevokedUntilKeepUntil_ThenDropped()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock);
        set.Add("g1", _clock.GetUtcNow().AddMinutes(5));

        // Act + Assert
        Assert.True((await set.CheckAsync("g1", CancellationToken.None)).Revoked);
        Assert.False((await set.CheckAsync("g2", CancellationToken.None)).Revoked);
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False((await set.CheckAsync("g1", CancellationToken.None)).Revoked);
        _clock.Advance(TimeSpan.FromMinutes(1));
        set.Add("g3", _clock.GetUtcNow().AddMinutes(1));
        Assert.Equal(1, set.Count);
    }

    [Fact]
    public void Add_Again_KeepsTheLaterTime_AndAlreadyExpiredIsIgnored()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock);

        // Act
        set.Add("g1", _clock.GetUtcNow().AddMinutes(10));
        set.Add("g1", _clock.GetUtcNow().AddMinutes(1));
        set.Add("old", _clock.GetUtcNow().AddMinutes(-1));
        _clock.Advance(TimeSpan.FromMinutes(2));

        // Assert
        Assert.True(set.Contains("g1"));
        Assert.False(set.Contains("old"));
    }

    [Fact]
    public async Task MarkCurrent_OnlyMovesForward()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock);
        var now = _clock.GetUtcNow();
        Assert.Null((await set.CheckAsync("g", CancellationToken.None)).CurrentAsOf);

        // Act
        set.MarkCurrent(now);
        set.MarkCurrent(now.AddMinutes(-1));

        // Assert
        Assert.Equal(now, (await set.CheckAsync("g", CancellationToken.None)).CurrentAsOf);
    }

    [Fact]
    public async Task Add_WhenFull_RefusesAndStopsVouchingUntilRoomAgain()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock, maxEntries: 2);
        set.MarkCurrent(_clock.GetUtcNow());
        set.Add("a", _clock.GetUtcNow().AddMinutes(1));
        set.Add("b", _clock.GetUtcNow().AddMinutes(10));

        // Act
        var added = set.Add("c", _clock.GetUtcNow().AddMinutes(10));

        // Assert: nothing was dropped, and the set no longer claims to be current (fail closed under MaxStaleness).
        Assert.False(added);
        Assert.True(set.Contains("a"));
        Assert.Null((await set.CheckAsync("c", CancellationToken.None)).CurrentAsOf);

        // Once an entry has expired, a report of currency clears the overflow.
        _clock.Advance(TimeSpan.FromMinutes(2));
        set.MarkCurrent(_clock.GetUtcNow());
        Assert.Equal(_clock.GetUtcNow(), (await set.CheckAsync("c", CancellationToken.None)).CurrentAsOf);
        Assert.True(set.Add("c", _clock.GetUtcNow().AddMinutes(10)));
    }

    [Fact]
    public async Task RefuseIssuedBefore_RefusesOlderTokensUntilKeepUntil_AndOnlyWidens()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock);
        var since = _clock.GetUtcNow();

        // Act
        set.RefuseIssuedBefore(since, since.AddMinutes(60));
        set.RefuseIssuedBefore(since.AddMinutes(-10), since.AddMinutes(30));

        // Assert: a token issued a second before since is refused; one issued at since is not.
        Assert.True((await set.CheckAsync("g1", since.AddSeconds(-1), CancellationToken.None)).Revoked);
        Assert.False((await set.CheckAsync("g1", since, CancellationToken.None)).Revoked);
        Assert.False((await set.CheckAsync("g1", CancellationToken.None)).Revoked);
        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.True(set.RefusesIssuedAt(since.AddSeconds(-1)));
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.False(set.RefusesIssuedAt(since.AddSeconds(-1)));
    }
}
