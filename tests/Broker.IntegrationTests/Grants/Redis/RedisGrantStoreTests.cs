using Broker.IntegrationTests.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>The grant store contract against a standalone redis-server.</summary>
public sealed class RedisGrantStoreTests(RedisServerFixture redis) : RedisGrantStoreTestBase(redis.Configuration);
