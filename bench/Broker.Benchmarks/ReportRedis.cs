using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Testing.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Broker.Benchmarks;

/// <summary>
/// The Redis side of the report commands: a throw-away redis-server (no persistence), the broker's Redis grant store
/// on it under the production key prefix <c>broker:</c>, and an admin connection for <c>INFO</c>, <c>MEMORY USAGE</c>
/// and reading keys directly.
/// </summary>
internal sealed class ReportRedis : IAsyncDisposable
{
    private readonly RedisProcess _server;
    private readonly ConnectionMultiplexer _connection;
    private readonly ConnectionMultiplexer _admin;

    private ReportRedis(RedisProcess server, ConnectionMultiplexer connection, ConnectionMultiplexer admin, RedisOptions options, RedisGrantStore store)
    {
        _server = server;
        _connection = connection;
        _admin = admin;
        Options = options;
        Store = store;
        Database = admin.GetDatabase();
        Server = admin.GetServer(admin.GetEndPoints()[0]);
    }

    public RedisOptions Options { get; }

    public RedisGrantStore Store { get; }

    /// <summary>The admin connection's database.</summary>
    public IDatabase Database { get; }

    /// <summary>The server, for <c>INFO</c> and the like.</summary>
    public IServer Server { get; }

    /// <param name="operationTimeout">Each store call's bound (default: the production default).</param>
    /// <param name="statusList">The status list settings (default: on).</param>
    public static async Task<ReportRedis> StartAsync(TimeSpan? operationTimeout = null, StatusListOptions? statusList = null)
    {
        var server = await RedisProcess.StartTemporaryAsync("--appendonly", "no");
        var options = new RedisOptions { Configuration = server.EndPoint, KeyPrefix = "broker:" };
        if (operationTimeout is { } timeout)
        {
            options.OperationTimeout = timeout;
        }

        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options));
        var store = new RedisGrantStore(
            connection,
            Microsoft.Extensions.Options.Options.Create(options),
            Microsoft.Extensions.Options.Options.Create(new GrantsOptions()),
            Microsoft.Extensions.Options.Options.Create(statusList ?? new StatusListOptions()),
            TimeProvider.System,
            NullLogger<RedisGrantStore>.Instance);
        var adminConfiguration = ConfigurationOptions.Parse(server.EndPoint);
        adminConfiguration.AllowAdmin = true;
        var admin = await ConnectionMultiplexer.ConnectAsync(adminConfiguration);
        return new ReportRedis(server, connection, admin, options, store);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await _connection.DisposeAsync();
        await _admin.DisposeAsync();
        await _server.DisposeAsync();
    }
}
