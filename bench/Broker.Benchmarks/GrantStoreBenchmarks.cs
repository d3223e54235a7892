using BenchmarkDotNet.Attributes;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Testing.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Benchmarks;

/// <summary>
/// Recording one grant (record, indexes and audit event in one step) against a throw-away redis-server,
/// next to the client's floor: one SET, and one EVALSHA of a trivial script, over the same connection; and 32 grants
/// recorded by 32 concurrent callers, as under load, with group commit off (<see cref="MaxRecordBatch"/> 1: a script
/// call per grant) and on (32).
/// </summary>
public class GrantStoreBenchmarks
{
    private const int Concurrent = 32;

    /// <summary><see cref="RedisOptions.MaxRecordBatch"/>: 1 is one script call per grant.</summary>
    [Params(1, 32)]
    public int MaxRecordBatch { get; set; }

    private RedisProcess _redis = null!;
    private ConnectionMultiplexer _connection = null!;
    private RedisGrantStore _store = null!;
    private IDatabase _db = null!;
    private readonly TimeProvider _time = TimeProvider.System;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _redis = await RedisProcess.StartTemporaryAsync("--appendonly", "no");
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.EndPoint);
        _db = _connection.GetDatabase();
        _store = new RedisGrantStore(
            _connection,
            Options.Create(new RedisOptions { Configuration = _redis.EndPoint, MaxRecordBatch = MaxRecordBatch }),
            Options.Create(new GrantsOptions()),
            _time,
            NullLogger<RedisGrantStore>.Instance);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Benchmark]
    public Task RecordGrant() => RecordOneAsync();

    /// <summary>Per grant: 32 recorded at once, each by its own caller.</summary>
    [Benchmark(OperationsPerInvoke = Concurrent)]
    public Task RecordGrantsConcurrently()
    {
        var calls = new Task[Concurrent];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = RecordOneAsync();
        }

        return Task.WhenAll(calls);
    }

    private async Task RecordOneAsync()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().ToUnixTimeSeconds());
        var id = GrantId.New("bench");
        var grant = new GrantRecord
        {
            Id = id,
            Tenant = "bench",
            Subject = "spiffe://bench.example/agents/a0001",
            ClientId = "spiffe://bench.example/agents/a0001",
            Capabilities = ["files.read"],
            Audience = "https://mcp.bench.example/mcp",
            TaskId = "bench-task-1",
            Purpose = "benchmark",
            IssuedAt = now,
            ExpiresAt = now.AddMinutes(5),
            PolicyVersion = "sha256:0123456789abcdef01234567",
        };
        await _store.RecordAsync(grant, new AuditEvent
        {
            Type = AuditEventTypes.TokenExchange,
            Time = now,
            Outcome = AuditOutcome.Allowed,
            Tenant = "bench",
            Subject = grant.Subject,
            GrantId = id,
            GrantedCapabilities = grant.Capabilities,
            TaskId = grant.TaskId,
            Purpose = grant.Purpose,
        }, CancellationToken.None);
    }

    [Benchmark(Baseline = true)]
    public Task<bool> RawSet() => _db.StringSetAsync("bench:raw", "value");

    [Benchmark]
    public Task<RedisResult> RawScript() => _db.ScriptEvaluateAsync("return 1");
}
