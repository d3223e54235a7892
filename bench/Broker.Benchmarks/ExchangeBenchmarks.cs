using BenchmarkDotNet.Attributes;
using Broker.Exchange;
using Broker.Testing.Bench;
using Broker.Testing.Redis;
using Broker.Tokens;

namespace Broker.Benchmarks;

/// <summary>
/// The whole exchange without HTTP (<see cref="TokenExchangeService.ExchangeAsync(TokenExchangeRequest, ExchangeCaller, CancellationToken)"/>): subject
/// validation, policy, mint, grant and audit event into the in-memory store. The same subject token
/// every time, so with the cache on subject validation is a cache hit. <see cref="Store"/> <c>redis</c>
/// records into a throw-away redis-server on loopback instead (started here, no persistence).
/// </summary>
public class ExchangeBenchmarks
{
    private BrokerHost _broker = null!;
    private RedisProcess? _redis;
    private TokenExchangeService _service = null!;
    private TokenExchangeRequest _request = null!;

    [Params(false, true)]
    public bool Cache { get; set; }

    [Params("memory", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _redis = Store == "redis" ? await RedisProcess.StartTemporaryAsync("--appendonly", "no") : null;
        _broker = await BrokerHost.StartAsync(Cache, _redis?.EndPoint);
        _service = _broker.Get<TokenExchangeService>();
        _request = new TokenExchangeRequest
        {
            SubjectToken = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1)),
            SubjectTokenType = CapabilityTokenTypes.Jwt,
            Resource = BenchTrustDomain.Resource,
            Capabilities = [BenchTrustDomain.Scope],
            RequestedTokenType = CapabilityTokenTypes.AccessToken,
            TaskId = BenchTrustDomain.TaskId,
            Purpose = BenchTrustDomain.Purpose,
        };
        if (!await Exchange())
        {
            throw new InvalidOperationException("The bench exchange was refused.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _broker.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Benchmark]
    public async ValueTask<bool> Exchange() =>
        await _service.ExchangeAsync(_request, Caller, CancellationToken.None) is ExchangeOutcome.Issued;

    private static readonly ExchangeCaller Caller = new("127.0.0.1");
}
