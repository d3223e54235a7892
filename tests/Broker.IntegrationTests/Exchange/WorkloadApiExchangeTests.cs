using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Broker.IntegrationTests.Infrastructure;
using Broker.Spiffe;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Broker.Trust;
using Broker.Testing.WorkloadApi;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// The broker next to a SPIFFE agent (the faithful Workload API test server on a real Unix socket):
/// trust bundles that rotate live, and HTTPS served with the broker's own rotating X509-SVID.
/// </summary>
public sealed class WorkloadApiExchangeTests : IAsyncLifetime
{
    private const string Resource = "https://mcp.acme.test/invoices";
    private readonly TempDirectory _directory = new();
    private FakeWorkloadApiServer _agent = null!;
    private BrokerTestHost _host = null!;
    private HttpClient _client = null!;
    private readonly ConcurrentQueue<X509Certificate2> _serverCertificates = new();

    private FakeWorkloadApiState Agent => _agent.State;

    public async ValueTask InitializeAsync()
    {
        var state = new FakeWorkloadApiState("acme.test");
        state.SetIdentities(("spiffe://acme.test/broker", ""));
        _agent = await FakeWorkloadApiServer.StartAsync(state);
        _directory.Write("policy/acme.yaml", $$"""
            tenant: acme
            trust:
              spiffe:
                - trust_domain: acme.test
                  bundle: workload_api
            capabilities:
              - name: invoices.read
                resource: {{Resource}}
            rules:
              - subjects: ["spiffe://acme.test/agents/*"]
                capabilities: [invoices.read]
                permissions: [execute]
            """);
        _host = await BrokerTestHost.StartAsync(
            Path.Combine(_directory.Path, "policy"),
            s =>
            {
                s.Configure<SpiffeAgentOptions>(o =>
                {
                    o.EndpointSocket = "unix://" + _agent.SocketPath;
                    o.ServeTls = true;
                });
            },
            https: true);
        _client = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Verify the broker as a SPIFFE peer: an X509-SVID of acme.test, against the agent's bundle.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    var leaf = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
                    _serverCertificates.Enqueue(leaf);
                    var bundle = new X509BundleSet(new X509Bundle(TrustDomain.Parse("acme.test"), Agent.Roots));
                    return X509SvidVerifier.TryVerify([leaf], bundle, out var id, out _) && id.ToString() == "spiffe://acme.test/broker";
                },
            },
            PooledConnectionLifetime = TimeSpan.Zero,
        })
        { BaseAddress = _host.BaseAddress };
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
        await _agent.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<HttpStatusCode> ExchangeAsync(string svid)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(svid, "invoices.read", Resource));
        using var response = await _client.PostAsync("/oauth2/token", content);
        return response.StatusCode;
    }

    private string Svid(string path) => Agent.MintJwtSvid($"spiffe://acme.test{path}", [BrokerTestHost.Issuer]);

    [Fact]
    public async Task Broker_ServesHttpsWithItsSvid_AndAcceptsJwtSvidsFromTheAgentsBundle()
    {
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(Svid("/agents/reader")));
        Assert.NotEmpty(_serverCertificates);

        using var ready = await _client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"workload_api\":\"ok\"", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_X509SvidRotates_NewConnectionsGetTheNewCertificateWithoutARestart()
    {
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(Svid("/agents/reader")));
        var first = _serverCertificates.Last().Thumbprint;

        Agent.RotateX509Svids();

        await Eventually.HoldsAsync(async () =>
        {
            await _client.GetAsync("/healthz");
            return _serverCertificates.Last().Thumbprint != first;
        }, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task JwtKeyRotation_DuringARunOfExchanges_NothingWronglyAcceptedOrRejected()
    {
        // Tokens of the first key, minted before the rotation begins.
        var oldKeyTokens = Enumerable.Range(0, 8).Select(i => Svid($"/agents/old{i}")).ToArray();
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(oldKeyTokens[0]));
        var wrongly = new ConcurrentBag<string>();

        // :: Publish a new key (the old one stays): old-key tokens must never be refused meanwhile.
        using (var run = new CancellationTokenSource())
        {
            var exchanging = RunAsync(oldKeyTokens, HttpStatusCode.OK, "old key refused while still published", wrongly, run.Token);
            Agent.RotateJwtKey();
            var newKeyProbe = Svid("/agents/probe");
            await Eventually.HoldsAsync(async () => await ExchangeAsync(newKeyProbe) == HttpStatusCode.OK, TimeSpan.FromSeconds(20));
            await run.CancelAsync();
            await exchanging;
        }

        var newKeyTokens = Enumerable.Range(0, 8).Select(i => Svid($"/agents/new{i}")).ToArray();

        // :: Retire the old key: new-key tokens must never be refused meanwhile; once the removal is
        // visible, no old-key token (even one validated and cached before) is accepted again.
        using (var run = new CancellationTokenSource())
        {
            var exchanging = RunAsync(newKeyTokens, HttpStatusCode.OK, "new key refused", wrongly, run.Token);
            Agent.DropOldJwtKeys();
            await Eventually.HoldsAsync(async () => await ExchangeAsync(oldKeyTokens[0]) == HttpStatusCode.BadRequest, TimeSpan.FromSeconds(20));
            await run.CancelAsync();
            await exchanging;
        }

        foreach (var token in oldKeyTokens)
        {
            if (await ExchangeAsync(token) == HttpStatusCode.OK)
            {
                wrongly.Add("old key accepted after its removal was seen");
            }
        }

        Assert.Empty(wrongly);
    }

    private Task RunAsync(string[] tokens, HttpStatusCode expected, string failure, ConcurrentBag<string> wrongly, CancellationToken stop) =>
        Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                if (await ExchangeAsync(tokens[i % tokens.Length]) != expected)
                {
                    wrongly.Add(failure);
                }
            }
        }, CancellationToken.None);
}
