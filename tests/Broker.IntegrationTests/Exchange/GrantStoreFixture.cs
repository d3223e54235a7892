using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// A fixture around an <see cref="ExchangeFixture"/> whose broker records its grants in memory, or, made with
/// <c>redis: true</c>, in a redis-server of the fixture's own under a key prefix of its own. A fixture's in-memory and
/// Redis variants differ by that alone, so the same test class runs against both stores.
/// </summary>
public abstract class GrantStoreFixture(bool redis) : IAsyncLifetime
{
    private readonly RedisServerFixture? _redis = redis ? new() : null;

    public ExchangeFixture Exchange { get; } = new();

    internal IGrantStore Store => Exchange.Host.Services.GetRequiredService<IGrantStore>();

    public virtual async ValueTask InitializeAsync()
    {
        if (_redis is not null)
        {
            await _redis.InitializeAsync();
        }

        Exchange.Configure = ConfigureStore;
        Exchange.BeforeStart = BeforeStart;
        await Exchange.InitializeAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Exchange.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Writes what the broker must find when it starts (policy files, bundles) into <see cref="ExchangeFixture.Directory"/>.</summary>
    protected abstract void BeforeStart();

    private void ConfigureStore(Dictionary<string, string?> settings)
    {
        if (_redis is not null)
        {
            settings.Configure<RedisOptions>(o =>
            {
                o.Configuration = _redis.Configuration;
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
            });
        }
    }
}
