using Broker.Testing.Redis;

namespace Broker.IntegrationTests.Redis;

/// <summary>
/// A standalone Redis for the tests: a <c>redis-server</c> process of its own on a free loopback port, in a temporary
/// directory, without persistence (<c>--save "" --appendonly no</c>) unless <c>durable</c>, stopped at the end.
/// <c>BROKER_TEST_REDIS</c> (a connection string) uses an existing server instead. Tests isolate themselves with a key
/// prefix of their own.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    /// <summary>Names an existing Redis to use instead of starting one.</summary>
    public const string OverrideVariable = "BROKER_TEST_REDIS";

    private readonly bool _durable;
    private readonly bool _allowOverride;
    private RedisProcess? _process;

    /// <summary>The shared, throw-away server (or <c>BROKER_TEST_REDIS</c>).</summary>
    public RedisServerFixture()
        : this(durable: false, allowOverride: true)
    {
    }

    /// <param name="durable">
    /// Append-only file with fsync on every write, so that a stop and start loses nothing acknowledged.
    /// </param>
    /// <param name="allowOverride">False for a server the test must stop and start itself.</param>
    internal RedisServerFixture(bool durable, bool allowOverride)
    {
        _durable = durable;
        _allowOverride = allowOverride;
    }

    /// <summary>The StackExchange.Redis configuration string for this server.</summary>
    public string Configuration { get; private set; } = string.Empty;

    /// <summary>True when the server belongs to this fixture and can be stopped and started.</summary>
    public bool IsOwned => _process is not null;

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (_allowOverride && !string.IsNullOrWhiteSpace(external))
        {
            Configuration = external;
            return;
        }

        _process = await RedisProcess.StartTemporaryAsync(_durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]);
        Configuration = _process.EndPoint;
    }

    /// <summary>A key prefix no other test uses.</summary>
    public static string NewKeyPrefix() => $"broker:test:{Guid.NewGuid():N}:";

    /// <summary>Stops the server (SHUTDOWN: the append-only file, if any, is flushed).</summary>
    public Task StopAsync() => Owned().StopAsync();

    /// <summary>Starts the server again on the same port and directory.</summary>
    public Task StartAsync() => Owned().StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            // Deletes the temporary directory too.
            await _process.DisposeAsync();
        }
    }

    internal static void TryDelete(string directory) => RedisProcess.TryDeleteDirectory(directory);

    private RedisProcess Owned() => _process ?? throw new InvalidOperationException(
        $"This Redis is not owned by the fixture ({OverrideVariable} is set); it cannot be stopped or started.");
}
