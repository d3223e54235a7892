using BenchmarkDotNet.Attributes;
using Broker.Policy;
using Broker.Subjects;
using Broker.Testing.Bench;

namespace Broker.Benchmarks;

/// <summary>
/// Subject JWT-SVID validation as the exchange runs it (SHA-256 of the token, then
/// <see cref="SubjectTokenValidator"/>): with the validation cache off every call parses the token
/// and verifies its ES256 signature; with it on, the same token repeated is a cache hit.
/// </summary>
public class SubjectValidationBenchmarks
{
    private BrokerHost _broker = null!;
    private SubjectTokenValidator _validator = null!;
    private PolicySet _policy = null!;
    private string _token = null!;

    [Params(false, true)]
    public bool Cache { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(Cache);
        _validator = _broker.Get<SubjectTokenValidator>();
        _policy = _broker.Policy;
        _token = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        if (!await ValidateSubject())
        {
            throw new InvalidOperationException("The bench JWT-SVID did not validate.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _broker.DisposeAsync();

    [Benchmark]
    public async ValueTask<bool> ValidateSubject() =>
        await _validator.ValidateAsync(_token, TokenHash.Of(_token), _policy, CancellationToken.None) is SubjectValidationResult.Valid;
}
