using Broker.IntegrationTests.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// The grant store contract through Redis Sentinel: the store is given only the sentinels and the service name,
/// and finds the primary through them. A class fixture, so the five processes run only when these tests do.
/// </summary>
public sealed class RedisSentinelGrantStoreTests(RedisSentinelFixture sentinel)
    : RedisGrantStoreTestBase(sentinel.Configuration), IClassFixture<RedisSentinelFixture>;
