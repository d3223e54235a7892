using System.Diagnostics;
using System.Globalization;
using Broker.Testing;
using Broker.Testing.Redis;

namespace Broker.IntegrationTests.Redis;

/// <summary>
/// A local Redis Sentinel deployment for the tests: a primary, one replica (<c>--replicaof</c>) and three
/// <c>redis-server --sentinel</c> processes monitoring them as <see cref="ServiceName"/> with quorum 2, all on free
/// loopback ports in throw-away directories. Ready once every sentinel knows the replica and the two other
/// sentinels (without them no failover can be agreed) and the replica is in sync. Failure detection is short
/// (<c>down-after-milliseconds 1000</c>, <c>failover-timeout 3000</c>) so a failover test stays quick.
/// <c>BROKER_TEST_REDIS_SENTINEL</c> uses an existing deployment instead.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncLifetime
{
    /// <summary>Names an existing Sentinel deployment (connection string with <c>serviceName</c>) to use instead.</summary>
    public const string OverrideVariable = "BROKER_TEST_REDIS_SENTINEL";

    /// <summary>The name the sentinels monitor the primary under.</summary>
    public const string ServiceName = "mymaster";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisProcess> _servers = [];
    private readonly List<RedisProcess> _sentinels = [];
    private readonly bool _allowOverride;

    /// <summary>The shared, throw-away deployment (or <c>BROKER_TEST_REDIS_SENTINEL</c>).</summary>
    public RedisSentinelFixture()
        : this(allowOverride: true)
    {
    }

    /// <param name="allowOverride">False for a deployment the test must crash servers of.</param>
    internal RedisSentinelFixture(bool allowOverride)
    {
        _allowOverride = allowOverride;
    }

    /// <summary>
    /// The StackExchange.Redis configuration string: the sentinels and <c>serviceName</c>, so the client asks them
    /// for the current primary and follows it through a failover.
    /// </summary>
    public string Configuration { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (_allowOverride && !string.IsNullOrWhiteSpace(external))
        {
            Configuration = external;
            return;
        }

        // No persistence; no 5 s wait for more replicas before a (diskless) full sync starts.
        string[] server = ["--appendonly", "no", "--repl-diskless-sync-delay", "0"];
        var primary = new RedisProcess(Directory.CreateTempSubdirectory("broker-redis-sentinel-").FullName, FreePorts.Next(), server);
        _servers.Add(primary);
        await primary.StartAsync();
        var replica = new RedisProcess(
            Directory.CreateTempSubdirectory("broker-redis-sentinel-").FullName,
            FreePorts.Next(),
            [.. server, "--replicaof", "127.0.0.1", Port(primary)]);
        _servers.Add(replica);
        await replica.StartAsync();

        // In sync before the sentinels start: they learn of replicas from the primary's INFO, which they ask for
        // on connecting and then only every 10 s.
        await WaitUntilAsync("the replica is in sync", async () =>
        {
            var replication = await RedisProcess.CliAsync("-p", Port(replica), "info", "replication");
            return replication.Contains("master_link_status:up", StringComparison.Ordinal)
                && replication.Contains("master_sync_in_progress:0", StringComparison.Ordinal);
        });

        for (var i = 0; i < 3; i++)
        {
            // A sentinel rewrites its configuration file (it records what it learns there), so each has its own.
            var directory = Directory.CreateTempSubdirectory("broker-redis-sentinel-").FullName;
            var file = Path.Combine(directory, "sentinel.conf");
            await File.WriteAllLinesAsync(file,
            [
                $"sentinel monitor {ServiceName} 127.0.0.1 {Port(primary)} 2",
                $"sentinel down-after-milliseconds {ServiceName} 1000",
                $"sentinel failover-timeout {ServiceName} 3000",
            ]);
            _sentinels.Add(new RedisProcess(directory, FreePorts.Next(), ["--sentinel"], configFile: file));
        }

        await Task.WhenAll(_sentinels.Select(p => p.StartAsync()));

        // The other sentinels are found through hello messages on the primary, every 2 s.
        await WaitUntilAsync("every sentinel knows the replica and the other sentinels", async () =>
        {
            foreach (var sentinel in _sentinels)
            {
                var master = Fields(await RedisProcess.CliAsync("-p", Port(sentinel), "sentinel", "master", ServiceName));
                if (master.GetValueOrDefault("flags") != "master" || master.GetValueOrDefault("num-slaves") != "1" || master.GetValueOrDefault("num-other-sentinels") != "2")
                {
                    return false;
                }
            }

            return true;
        });

        Configuration = string.Join(',', _sentinels.Select(s => s.EndPoint)) + ",serviceName=" + ServiceName;
    }

    /// <summary>The primary's endpoint as the first sentinel reports it.</summary>
    public async Task<string> GetPrimaryAsync() => await PrimaryAsync(Owned()[0]);

    /// <summary>
    /// Waits until the replica has processed everything in the primary's replication stream at the time of the
    /// call (the <c>INFO replication</c> offsets): every write the primary acknowledged before is on the replica.
    /// </summary>
    public async Task WaitUntilReplicatedAsync()
    {
        var primary = Process(await GetPrimaryAsync());
        var replica = _servers.Single(s => s != primary);
        var target = Offset(await RedisProcess.CliAsync("-p", Port(primary), "info", "replication"), "master_repl_offset");
        await WaitUntilAsync($"the replica reaches replication offset {target}", async ()
            => Offset(await RedisProcess.CliAsync("-p", Port(replica), "info", "replication"), "slave_repl_offset") >= target);
    }

    /// <summary>
    /// Kills the current primary (SIGKILL, as a crash: nothing is flushed or sent to the replica on the way out)
    /// and returns its endpoint.
    /// </summary>
    public async Task<string> CrashPrimaryAsync()
    {
        var primary = await GetPrimaryAsync();
        await Process(primary).KillAsync();
        return primary;
    }

    /// <summary>
    /// Waits until every sentinel reports a primary other than <paramref name="previous"/> (the replica, promoted)
    /// and returns it.
    /// </summary>
    public async Task<string> WaitForFailoverAsync(string previous)
    {
        var sentinels = Owned();
        string? promoted = null;
        await WaitUntilAsync($"the sentinels promote a new primary in place of {previous}", async () =>
        {
            var reported = await Task.WhenAll(sentinels.Select(PrimaryAsync));
            promoted = reported[0];
            return promoted != previous && reported.All(r => r == promoted);
        });
        return promoted!;
    }

    public async ValueTask DisposeAsync()
    {
        // Sentinels first, so none of them starts a failover while the servers go away.
        foreach (var process in _sentinels.Concat(_servers))
        {
            await process.DisposeAsync();
            RedisServerFixture.TryDelete(process.Directory);
        }
    }

    private List<RedisProcess> Owned() => _sentinels.Count > 0 ? _sentinels : throw new InvalidOperationException(
        $"This Sentinel deployment is not owned by the fixture ({OverrideVariable} is set); its servers cannot be crashed.");

    private RedisProcess Process(string endPoint)
        => _servers.SingleOrDefault(s => s.EndPoint == endPoint)
            ?? throw new InvalidOperationException($"The sentinels report {endPoint}, which is not a server of this fixture.");

    private static async Task<string> PrimaryAsync(RedisProcess sentinel)
    {
        // redis-cli prints the two-element reply (host, port) one per line when its output is not a terminal.
        var reply = (await RedisProcess.CliAsync("-p", Port(sentinel), "sentinel", "get-master-addr-by-name", ServiceName))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return reply.Length == 2 ? $"{reply[0]}:{reply[1]}" : throw new InvalidOperationException($"Unexpected reply from the sentinel on {sentinel.EndPoint}: {string.Join(' ', reply)}");
    }

    /// <summary>The reply of <c>SENTINEL master</c>, a flat list of names and values, one per line.</summary>
    private static Dictionary<string, string> Fields(string reply)
    {
        var lines = reply.Split('\n', StringSplitOptions.TrimEntries);
        Dictionary<string, string> fields = new(StringComparer.Ordinal);
        for (var i = 0; i + 1 < lines.Length; i += 2)
        {
            fields[lines[i]] = lines[i + 1];
        }

        return fields;
    }

    private static long Offset(string info, string field)
    {
        var line = info.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"INFO replication has no {field}:\n{info}");
        return long.Parse(line.AsSpan(field.Length + 1), CultureInfo.InvariantCulture);
    }

    private static string Port(RedisProcess process) => process.Port.ToString(CultureInfo.InvariantCulture);

    private static async Task WaitUntilAsync(string what, Func<Task<bool>> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException($"Redis Sentinel: not done within {ReadyTimeout.TotalSeconds} s: {what}.");
            }

            await Task.Delay(50);
        }
    }
}
