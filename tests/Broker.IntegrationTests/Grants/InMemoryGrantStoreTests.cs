using Broker.Grants;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Broker.IntegrationTests.Grants;

/// <summary>The grant store contract against the embedded in-memory store, on a fake clock.</summary>
public sealed class InMemoryGrantStoreTests : GrantStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));
    private InMemoryGrantStore? _store;

    protected override TimeProvider Time => _time;

    protected override TimeSpan ShortLifetime => TimeSpan.FromMinutes(1);

    protected override ValueTask<IGrantStore> CreateReplicaAsync()
        => ValueTask.FromResult<IGrantStore>(_store ??= new InMemoryGrantStore(_time, Options.Create(new GrantsOptions { Retention = TimeSpan.FromMinutes(5) })));

    protected override ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options)
        => ValueTask.FromResult<IGrantStore>(new InMemoryGrantStore(_time, Options.Create(options)));

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
}
