using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Broker.DPoP;
using Broker.Exchange;
using Broker.Jose.DPoP;
using Broker.Testing.Bench;
using Microsoft.AspNetCore.Http;

namespace Broker.Benchmarks;

/// <summary>
/// <c>POST /oauth2/token</c> as in <see cref="EndpointBenchmarks"/>, without and with a DPoP proof (RFC 9449 §5): the
/// difference is what binding a token to the caller's key costs the broker (the proof's strict read, its ES256
/// signature check, the thumbprint, the in-memory replay cache, <c>cnf.jkt</c> in the token).
/// </summary>
/// <remarks>
/// A proof is accepted once, so every invocation needs its own: they are made before each iteration
/// (<c>InvocationCount</c> of them, by the client's key, outside the measurement), which is why the invocation
/// count is fixed. Both cases run with the same count.
/// </remarks>
[InvocationCount(Invocations)]
public class DPoPEndpointBenchmarks
{
    private const int Invocations = 2048;

    private readonly ECDsa _clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private BrokerHost _broker = null!;
    private TokenEndpoint _endpoint = null!;
    private DPoPTokenProofs _check = null!;
    private DPoPProofBuilder _proofs = null!;
    private Uri _tokenEndpoint = null!;
    private byte[] _body = null!;
    private string[] _iterationProofs = [];
    private int _next;

    [Params(false, true)]
    public bool Cache { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(Cache);
        _endpoint = _broker.Get<TokenEndpoint>();
        _check = _broker.Get<DPoPTokenProofs>();
        _proofs = new DPoPProofBuilder(_clientKey);
        _tokenEndpoint = new Uri(BenchTrustDomain.Issuer + TokenEndpoint.Path);
        var token = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        _body = Encoding.ASCII.GetBytes(LoadTokens.FormBody(token));
        MakeProofs();
        if (await PostToken() != StatusCodes.Status200OK || await PostTokenDPoP() != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException("The bench requests were not answered with 200.");
        }
    }

    [IterationSetup]
    public void MakeProofs()
    {
        _iterationProofs = [.. Enumerable.Range(0, Invocations + 1).Select(_ => _proofs.CreateProof("POST", _tokenEndpoint))];
        _next = 0;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _broker.DisposeAsync();
        _clientKey.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<int> PostToken() => PostAsync(proof: null);

    [Benchmark]
    public Task<int> PostTokenDPoP() => PostAsync(_iterationProofs[_next++]);

    /// <summary>The proof check alone (<see cref="DPoPTokenProofs.CheckAsync"/>): how much of the difference it is.</summary>
    [Benchmark]
    public async Task<int> CheckProof()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.Headers[DPoPConstants.HeaderName] = _iterationProofs[_next++];
        return (await _check.CheckAsync(context.Request, CancellationToken.None)).Thumbprint is null ? 400 : 200;
    }

    private async Task<int> PostAsync(string? proof)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.ContentLength = _body.Length;
        context.Request.Body = new MemoryStream(_body, writable: false);
        if (proof is not null)
        {
            context.Request.Headers[DPoPConstants.HeaderName] = proof;
        }

        context.Response.Body = Stream.Null;
        await _endpoint.HandleAsync(context, CancellationToken.None);
        return context.Response.StatusCode;
    }
}
