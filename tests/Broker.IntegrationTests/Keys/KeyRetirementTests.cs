using System.Net;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;

namespace Broker.IntegrationTests.Keys;

/// <summary>Retiring keys that are not the active one: a next key published a day ahead, and a retired key.</summary>
public sealed class KeyRetirementTests(RedisServerFixture redis) : IAsyncLifetime
{
    private KeyRingReplicas _replicas = null!;

    // Pre-publication as long as the interval: the schedule publishes the next key as soon as the first one signs.
    public async ValueTask InitializeAsync() => _replicas = await KeyRingReplicas.StartAsync(
        redis.Configuration,
        s => s.Configure<KeysOptions>(o => o.Rotation.PrePublication = TimeSpan.FromDays(1)));

    public ValueTask DisposeAsync() => _replicas.DisposeAsync();

    [Fact]
    public async Task Retire_ANextKey_RemovesItFromEveryJwksAtOnce_ThenTheScheduleAddsAnother()
    {
        // Arrange
        await Eventually.HoldsAsync(async () => (await KeyRingReplicas.JwksKidsAsync(_replicas.B)).Count == 2, TimeSpan.FromSeconds(10));
        var (active, next) = ((await KeyRingReplicas.JwksKidsAsync(_replicas.A))[0], (await KeyRingReplicas.JwksKidsAsync(_replicas.A))[1]);

        // Act
        var (status, body) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, $"/admin/v1/keys/{next}/retire");
        var (again, againBody) = await _replicas.AdminAsync(_replicas.B, HttpMethod.Post, $"/admin/v1/keys/{next}/retire");

        // Assert: it never signed, so it leaves at once; a second retirement finds no such key.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("retired", body.GetProperty("result").GetString());
        Assert.Equal(body.GetProperty("retired_at").GetDateTimeOffset(), body.GetProperty("remove_at").GetDateTimeOffset());
        Assert.Equal(HttpStatusCode.NotFound, again);
        Assert.Equal("not_found", againBody.GetProperty("error").GetString());
        await Eventually.HoldsAsync(async () => !(await KeyRingReplicas.JwksKidsAsync(_replicas.B)).Contains(next), TimeSpan.FromSeconds(5));

        // The schedule still wants a next key: one replica adds a new one, and the active key never changed.
        await Eventually.HoldsAsync(async () => await KeyRingReplicas.JwksKidsAsync(_replicas.B) is [var a, var n] && a == active && n != next, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Retire_AKeyARotationRetired_SaysAlreadyRetired_WithItsRemovalTime()
    {
        // Arrange: rotate (the schedule published the next key when the ring started, so it signs once it has been
        // published for the safe publication delay), then wait until the old key is retired.
        var old = (await KeyRingReplicas.JwksKidsAsync(_replicas.A))[0];
        var (_, rotated) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, "/admin/v1/keys/rotate");
        await Eventually.HoldsAsync(() => DateTimeOffset.UtcNow > rotated.GetProperty("activates_at").GetDateTimeOffset(), TimeSpan.FromSeconds(10));

        // Act
        var (status, body) = await _replicas.AdminAsync(_replicas.B, HttpMethod.Post, $"/admin/v1/keys/{old}/retire");

        // Assert: still published (tokens it signed live on), and says until when.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("already_retired", body.GetProperty("result").GetString());
        Assert.Equal(rotated.GetProperty("previous_remove_at").GetDateTimeOffset(), body.GetProperty("remove_at").GetDateTimeOffset());
        Assert.Contains(old, await KeyRingReplicas.JwksKidsAsync(_replicas.B));
    }
}
