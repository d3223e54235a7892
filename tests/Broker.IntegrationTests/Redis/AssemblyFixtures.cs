using Broker.IntegrationTests.Redis;

// One standalone Redis and one local Redis Cluster for the whole test run; test classes stay parallel and isolate
// themselves by key prefix.
[assembly: AssemblyFixture(typeof(RedisServerFixture))]
[assembly: AssemblyFixture(typeof(RedisClusterFixture))]
