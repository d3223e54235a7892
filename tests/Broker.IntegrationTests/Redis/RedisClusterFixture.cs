using System.Diagnostics;
using Broker.Testing;
using Broker.Testing.Redis;

namespace Broker.IntegrationTests.Redis;

/// <summary>
/// A local Redis Cluster for the tests: three <c>redis-server --cluster-enabled yes</c> primaries on free loopback
/// ports (bus ports too), joined with <c>redis-cli --cluster create … --cluster-replicas 0</c>, ready once every node
/// reports <c>cluster_state:ok</c>. <c>BROKER_TEST_REDIS_CLUSTER</c> uses an existing cluster instead.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    /// <summary>Names an existing cluster (connection string) to use instead of starting one.</summary>
    public const string OverrideVariable = "BROKER_TEST_REDIS_CLUSTER";

    private readonly List<RedisProcess> _nodes = [];
    private readonly bool _durable;
    private readonly bool _allowOverride;

    /// <summary>The shared, throw-away cluster (or <c>BROKER_TEST_REDIS_CLUSTER</c>).</summary>
    public RedisClusterFixture()
        : this(durable: false, allowOverride: true)
    {
    }

    /// <param name="durable">Append-only files with fsync on every write, so nodes can be stopped and started.</param>
    /// <param name="allowOverride">False for a cluster the test must stop and start nodes of.</param>
    internal RedisClusterFixture(bool durable, bool allowOverride)
    {
        _durable = durable;
        _allowOverride = allowOverride;
    }

    /// <summary>The StackExchange.Redis configuration string: every node.</summary>
    public string Configuration { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(OverrideVariable);
        if (_allowOverride && !string.IsNullOrWhiteSpace(external))
        {
            Configuration = external;
            return;
        }

        for (var i = 0; i < 3; i++)
        {
            var directory = Directory.CreateTempSubdirectory("broker-redis-cluster-").FullName;
            var node = new RedisProcess(directory, FreePorts.Next(),
            [
                .. _durable ? ["--appendonly", "yes", "--appendfsync", "always"] : new[] { "--appendonly", "no" },
                "--cluster-enabled", "yes",
                "--cluster-config-file", Path.Combine(directory, "nodes.conf"),
                "--cluster-node-timeout", "5000",
                // The bus port defaults to port + 10000, which may be taken (or in the ephemeral range): reserve one too.
                "--cluster-port", FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ]);
            _nodes.Add(node);
        }

        await Task.WhenAll(_nodes.Select(n => n.StartAsync()));
        await RedisProcess.CliAsync(["--cluster", "create", .. _nodes.Select(n => n.EndPoint), "--cluster-replicas", "0", "--cluster-yes"]);
        await WaitUntilHealthyAsync();
        Configuration = string.Join(',', _nodes.Select(n => n.EndPoint));
    }

    /// <summary>The client endpoints of the nodes, in start order.</summary>
    public IReadOnlyList<string> EndPoints => [.. _nodes.Select(n => n.EndPoint)];

    /// <summary>Stops one node (SHUTDOWN: its append-only file, if any, is flushed).</summary>
    public Task StopNodeAsync(int index) => _nodes[index].StopAsync();

    /// <summary>Starts a stopped node again (same port, directory and nodes.conf) and waits for the cluster.</summary>
    public async Task StartNodeAsync(int index)
    {
        await _nodes[index].StartAsync();
        await WaitUntilHealthyAsync();
    }

    private async Task WaitUntilHealthyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var states = await Task.WhenAll(_nodes.Select(n => RedisProcess.CliAsync("-p", n.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "cluster", "info")));
            if (states.All(s => s.Contains("cluster_state:ok", StringComparison.Ordinal) && s.Contains("cluster_known_nodes:3", StringComparison.Ordinal)))
            {
                break;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("The local Redis Cluster did not reach cluster_state:ok within 30 s:\n" + string.Join("\n", states));
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
            RedisServerFixture.TryDelete(node.Directory);
        }
    }
}
