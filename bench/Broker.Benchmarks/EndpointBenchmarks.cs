using System.Text;
using BenchmarkDotNet.Attributes;
using Broker.Exchange;
using Broker.Testing.Bench;
using Microsoft.AspNetCore.Http;

namespace Broker.Benchmarks;

/// <summary>
/// <c>POST /oauth2/token</c> without a socket: <see cref="TokenEndpoint.HandleAsync"/> on an in-memory
/// request, so the cost of form parsing, the request checks and the JSON response adds to
/// <see cref="ExchangeBenchmarks"/> while Kestrel's own cost stays out.
/// </summary>
public class EndpointBenchmarks
{
    private BrokerHost _broker = null!;
    private TokenEndpoint _endpoint = null!;
    private byte[] _body = null!;

    [Params(false, true)]
    public bool Cache { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(Cache);
        _endpoint = _broker.Get<TokenEndpoint>();
        var token = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        _body = Encoding.ASCII.GetBytes(LoadTokens.FormBody(token));
        if (await PostToken() != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException("The bench request was not answered with 200.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _broker.DisposeAsync();

    [Benchmark]
    public async Task<int> PostToken()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Post;
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.ContentLength = _body.Length;
        context.Request.Body = new MemoryStream(_body, writable: false);
        context.Response.Body = Stream.Null;
        await _endpoint.HandleAsync(context, CancellationToken.None);
        return context.Response.StatusCode;
    }
}
