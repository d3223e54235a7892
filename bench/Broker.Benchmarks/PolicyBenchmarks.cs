using BenchmarkDotNet.Attributes;
using Broker.Policy;
using Broker.Subjects;
using Broker.Testing.Bench;

namespace Broker.Benchmarks;

/// <summary>Policy evaluation alone, for a validated bench agent asking for <c>files.read</c>.</summary>
public class PolicyBenchmarks
{
    private BrokerHost _broker = null!;
    private PolicyEvaluator _evaluator = null!;
    private PolicySet _policy = null!;
    private PolicyRequest _request = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(validationCache: false);
        _evaluator = _broker.Get<PolicyEvaluator>();
        _policy = _broker.Policy;
        var token = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        var validated = await _broker.Get<SubjectTokenValidator>().ValidateAsync(token, TokenHash.Of(token), _policy, CancellationToken.None);
        var subject = ((SubjectValidationResult.Valid)validated).Identity;
        _request = new PolicyRequest(subject, null, [BenchTrustDomain.Scope], BenchTrustDomain.Resource, null, BenchTrustDomain.Purpose, null);
        if (!EvaluatePolicy())
        {
            throw new InvalidOperationException("The bench policy denied the bench request.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _broker.DisposeAsync();

    [Benchmark]
    public bool EvaluatePolicy() => _evaluator.Evaluate(_policy, _request) is PolicyDecision.Allowed;
}
