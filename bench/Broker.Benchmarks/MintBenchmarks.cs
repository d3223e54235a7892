using BenchmarkDotNet.Attributes;
using Broker.Grants;
using Broker.Testing.Bench;
using Broker.Tokens;

namespace Broker.Benchmarks;

/// <summary>Minting one capability token: payload JSON, ES256 signature, compact serialisation.</summary>
public class MintBenchmarks
{
    private BrokerHost _broker = null!;
    private CapabilityTokenIssuer _issuer = null!;
    private CapabilityTokenRequest _request = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(validationCache: false);
        _issuer = _broker.Get<CapabilityTokenIssuer>();
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var subject = BenchTrustDomain.AgentId(1);
        _request = new CapabilityTokenRequest(
            GrantId.New("bench"), subject, subject, BenchTrustDomain.Resource, [BenchTrustDomain.Scope], "bench",
            BenchTrustDomain.TaskId, BenchTrustDomain.Purpose, [], issuedAt, issuedAt.AddMinutes(5));
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _broker.DisposeAsync();

    [Benchmark]
    public string MintCapabilityToken() => _issuer.Issue(_request);
}
