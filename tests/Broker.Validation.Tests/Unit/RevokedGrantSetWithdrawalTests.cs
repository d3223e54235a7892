using Broker.Validation.Revocation;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Validation.Tests.Unit;

/// <summary>Capabilities withdrawn from the broker's catalog (the feed's <c>capability_withdrawn</c>) in the revoked set.</summary>
public sealed class RevokedGrantSetWithdrawalTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));

    private static RevocationQuery Token(DateTimeOffset issuedAt, params string[] capabilities) =>
        new("grant-" + string.Join('-', capabilities), issuedAt) { Capabilities = capabilities };

    [Fact]
    public async Task Withdrawn_RefusesTokensOfThatCapabilityIssuedUntilThen_OnlyUntilKeepUntil()
    {
        // Arrange
        var set = new RevokedGrantSet(_clock);
        var at = _clock.GetUtcNow();
        set.WithdrawCapability("files.read", at, at.AddMinutes(10));

        // Act + Assert: the same second and before are refused; after it, or other capabilities, are not.
        Assert.True((await set.CheckAsync(Token(at.AddMinutes(-3), "files.read"), CancellationToken.None)).Revoked);
        Assert.True((await set.CheckAsync(Token(at.AddMilliseconds(900), "files.read"), CancellationToken.None)).Revoked);
        Assert.True((await set.CheckAsync(Token(at.AddMinutes(-3), "files.write", "files.read"), CancellationToken.None)).Revoked);
        Assert.False((await set.CheckAsync(Token(at.AddSeconds(1), "files.read"), CancellationToken.None)).Revoked);
        Assert.False((await set.CheckAsync(Token(at.AddMinutes(-3), "files.write"), CancellationToken.None)).Revoked);

        // Assert: grant-only checks know nothing of capabilities.
        Assert.False((await set.CheckAsync("grant-files.read", at.AddMinutes(-3), CancellationToken.None)).Revoked);

        // Assert: once every such token has expired, the entry no longer refuses.
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.False((await set.CheckAsync(Token(at.AddMinutes(-3), "files.read"), CancellationToken.None)).Revoked);
    }

    [Fact]
    public void Withdrawn_Again_OnlyWidens_AndExpiredIsIgnored()
    {
        var set = new RevokedGrantSet(_clock);
        var at = _clock.GetUtcNow();

        set.WithdrawCapability("files.read", at, at.AddMinutes(10));
        set.WithdrawCapability("files.read", at.AddMinutes(-5), at.AddMinutes(1));
        set.WithdrawCapability("old", at, at.AddMinutes(-1));

        Assert.True(set.RefusesCapabilities(["files.read"], at));
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.True(set.RefusesCapabilities(["files.read"], at));
        Assert.False(set.RefusesCapabilities(["old"], at.AddMinutes(-10)));
    }

    [Fact]
    public async Task Withdrawn_WhenFull_RefusesAndStopsVouching()
    {
        var set = new RevokedGrantSet(_clock, maxEntries: 2);
        var at = _clock.GetUtcNow();
        set.MarkCurrent(at);

        Assert.True(set.WithdrawCapability("a", at, at.AddMinutes(5)));
        Assert.True(set.WithdrawCapability("b", at, at.AddMinutes(5)));
        Assert.False(set.WithdrawCapability("c", at, at.AddMinutes(5)));

        Assert.Null((await set.CheckAsync(Token(at, "x"), CancellationToken.None)).CurrentAsOf);
    }
}
