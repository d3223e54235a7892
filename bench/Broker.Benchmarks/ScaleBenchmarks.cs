using System.Text;
using BenchmarkDotNet.Attributes;
using Broker.Exchange;
using Broker.Introspection;
using Broker.Policy;
using Broker.Subjects;
using Broker.Testing.Bench;
using Broker.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Benchmarks;

/// <summary>
/// Costs that must stay flat as the policy grows: the bench request against 1, 100 and 1,000 generated tenants of 20
/// capabilities and 50 rules each (<see cref="ScalePolicy"/>), and against the small bench policy (<see cref="Tenants"/>
/// 0: three capabilities, three rules). The request is always the measured tenant's, matched by its last rule.
/// </summary>
/// <remarks>
/// <see cref="EvaluatePolicy"/> is the decision latency (<see cref="PolicyEvaluator.Evaluate"/>), <see cref="Exchange"/>
/// the whole exchange without HTTP (subject validation with the cache on, policy, mint, grant into the in-memory store),
/// whose inverse is the single-core exchange throughput, and <see cref="Introspect"/> one <c>POST /oauth2/introspect</c>
/// on an in-memory request: the resource server's JWT-SVID authenticated and placed in its tenant by the real
/// authentication handler, then the endpoint (token read, grant lookup, JSON answer).
/// </remarks>
public class ScaleBenchmarks
{
    private BrokerHost _broker = null!;
    private PolicyEvaluator _evaluator = null!;
    private PolicySet _policy = null!;
    private PolicyRequest _request = null!;
    private TokenExchangeService _service = null!;
    private TokenExchangeRequest _exchange = null!;
    private IntrospectionEndpoint _introspection = null!;
    private string _serverAuthorization = null!;
    private byte[] _introspectionBody = null!;

    /// <summary>Generated tenants (the measured one included); 0 for the small bench policy.</summary>
    [Params(0, 1, 100, 1000)]
    public int Tenants { get; set; }

    /// <summary>
    /// How the generated tenants are told apart (no effect with <see cref="Tenants"/> 0): both, or those the environment
    /// variable <c>BENCH_TENANT_LAYOUTS</c> names (comma-separated), to shorten a run.
    /// </summary>
    [ParamsSource(nameof(Layouts))]
    public TenantLayout Layout { get; set; }

    public static IEnumerable<TenantLayout> Layouts =>
        Environment.GetEnvironmentVariable("BENCH_TENANT_LAYOUTS") is { Length: > 0 } names
            ? names.Split(',').Select(Enum.Parse<TenantLayout>)
            : Enum.GetValues<TenantLayout>();

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(validationCache: true, redis: null, (trustDomain, directory) =>
        {
            if (Tenants == 0)
            {
                trustDomain.WritePolicyDirectory(directory);
            }
            else
            {
                ScalePolicy.Write(directory, Tenants, Layout, trustDomain.BundleJson());
            }
        });
        _policy = _broker.Policy;
        _evaluator = _broker.Get<PolicyEvaluator>();
        _service = _broker.Get<TokenExchangeService>();
        _introspection = _broker.Get<IntrospectionEndpoint>();

        var now = DateTimeOffset.UtcNow;
        var agent = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), now, TimeSpan.FromHours(2));
        var validated = await _broker.Get<SubjectTokenValidator>().ValidateAsync(agent, TokenHash.Of(agent), _policy, CancellationToken.None);
        var subject = ((SubjectValidationResult.Valid)validated).Identity;
        _request = new PolicyRequest(subject, null, [BenchTrustDomain.Scope], BenchTrustDomain.Resource, null, BenchTrustDomain.Purpose, null);
        _exchange = new TokenExchangeRequest
        {
            SubjectToken = agent,
            SubjectTokenType = CapabilityTokenTypes.Jwt,
            Resource = BenchTrustDomain.Resource,
            Capabilities = [BenchTrustDomain.Scope],
            RequestedTokenType = CapabilityTokenTypes.AccessToken,
            TaskId = BenchTrustDomain.TaskId,
            Purpose = BenchTrustDomain.Purpose,
        };

        // The token introspected: one real exchange's; the resource server's own SVID authenticates the calls.
        if (await _service.ExchangeAsync(_exchange, Caller, CancellationToken.None) is not ExchangeOutcome.Issued issued)
        {
            throw new InvalidOperationException($"The bench exchange was refused with {Tenants} tenants ({Layout}).");
        }

        _introspectionBody = Encoding.ASCII.GetBytes("token=" + Uri.EscapeDataString(issued.Response.AccessToken));
        _serverAuthorization = "Bearer " + _broker.TrustDomain.MintSvid(LoadTokens.Introspector, now, TimeSpan.FromHours(2));
        if (!EvaluatePolicy() || !await Exchange() || await Introspect() != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException($"A bench request was refused with {Tenants} tenants ({Layout}).");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _broker.DisposeAsync();

    [Benchmark]
    public bool EvaluatePolicy() => _evaluator.Evaluate(_policy, _request) is PolicyDecision.Allowed;

    [Benchmark]
    public async ValueTask<bool> Exchange() =>
        await _service.ExchangeAsync(_exchange, Caller, CancellationToken.None) is ExchangeOutcome.Issued;

    [Benchmark]
    public async Task<int> Introspect()
    {
        // One request scope per request, as Kestrel gives one; the real scheme authenticates the resource server.
        await using var scope = _broker.Services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        context.Request.Method = HttpMethods.Post;
        context.Request.Headers.Authorization = _serverAuthorization;
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.ContentLength = _introspectionBody.Length;
        context.Request.Body = new MemoryStream(_introspectionBody, writable: false);
        context.Response.Body = Stream.Null;
        var authenticated = await context.AuthenticateAsync(Broker.Authentication.WorkloadAuthenticationDefaults.Scheme);
        context.User = authenticated.Principal ?? throw new InvalidOperationException("The resource server's SVID was refused.");
        await _introspection.HandleAsync(context, CancellationToken.None);
        return context.Response.StatusCode;
    }

    private static readonly ExchangeCaller Caller = new("127.0.0.1");
}
