using Broker.Grants;
using Broker.Grants.InMemory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Broker.IntegrationTests.Grants.InMemory;

/// <summary>The grant store contract against the embedded in-memory store, on a fake clock.</summary>
public sealed class InMemoryGrantStoreTests : GrantStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
    private InMemoryGrantStore? _store;

    protected override TimeProvider Time => _time;

    protected override TimeSpan ShortLifetime => TimeSpan.FromMinutes(1);

    private protected override ValueTask<IGrantStore> CreateReplicaAsync()
        => ValueTask.FromResult<IGrantStore>(_store ??= new InMemoryGrantStore(_time, Options.Create(new GrantsOptions { Retention = TimeSpan.FromMinutes(5) })));

    private protected override ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options, StatusListOptions statusList)
        => ValueTask.FromResult<IGrantStore>(new InMemoryGrantStore(_time, Options.Create(options), Options.Create(statusList)));

    protected override Task PassAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Retention_AfterItPasses_ExpiredGrantIsUnknown()
    {
        var grant = NewGrant(lifetime: TimeSpan.FromMinutes(1));
        await Store.RecordAsync(grant, Issued(grant), Ct);

        _time.Advance(TimeSpan.FromMinutes(5.5));
        Assert.Equal(GrantState.Expired, await Store.GetStateAsync(grant.Id, Ct));
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(GrantState.Unknown, await Store.GetStateAsync(grant.Id, Ct));
    }

    [Fact]
    public async Task ReadRevocationsAsync_PositionFromBeforeARestart_ReadsEverythingSinceAndSaysHistoryLost()
    {
        // Arrange: a position from a store that is gone, then a restarted store with a revocation of its own.
        var grant = NewGrant();
        await Store.RecordAsync(grant, Issued(grant), Ct);
        var oldPosition = Assert.IsType<Revoked>(await Store.RevokeAsync(grant.Id, "admin", "x", Ct)).Entry.Position;
        _time.Advance(TimeSpan.FromSeconds(5));
        var restarted = new InMemoryGrantStore(_time);
        var again = NewGrant();
        await restarted.RecordAsync(again, Issued(again), Ct);
        await restarted.RevokeAsync(again.Id, "admin", "x", Ct);

        // Act
        var page = await restarted.ReadRevocationsAsync(Tenant, oldPosition, 10, Ct);

        // Assert
        Assert.True(page.HistoryLost);
        Assert.Equal([again.Id], page.Entries.Select(e => e.GrantId));
    }
}
