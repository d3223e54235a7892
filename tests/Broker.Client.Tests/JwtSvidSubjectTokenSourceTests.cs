using System.Text.Json.Nodes;
using Broker.Client.Tests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using Broker.Spiffe.WorkloadApi;
using Broker.Testing.WorkloadApi;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Client.Tests;

/// <summary>
/// The agent's path end to end: a JWT-SVID from a (fake) SPIFFE agent over the Workload API, exchanged at the
/// real broker, which trusts the agent's JWT authorities through a SPIFFE bundle file.
/// </summary>
public sealed class JwtSvidSubjectTokenSourceTests : IAsyncLifetime
{
    private const string Agent = "spiffe://client.test/agents/svid";
    private readonly TempDirectory _directory = new();
    private FakeWorkloadApiServer _workloadApi = null!;
    private BrokerTestHost _broker = null!;

    public async ValueTask InitializeAsync()
    {
        var state = new FakeWorkloadApiState("client.test");
        state.SetIdentities((Agent, string.Empty));
        _workloadApi = await FakeWorkloadApiServer.StartAsync(state);

        // A Workload API serves a plain JWKS; a SPIFFE bundle marks JWT authorities with use = jwt-svid (bundle spec §4).
        var bundle = JsonNode.Parse(state.Jwks())!.AsObject();
        foreach (var key in bundle["keys"]!.AsArray())
        {
            key!["use"] = "jwt-svid";
        }

        _directory.Write("policy/bundles/client.json", bundle.ToJsonString());
        _directory.Write("policy/client.yaml", ClientFixture.Policy);
        _broker = await BrokerTestHost.StartAsync(Path.Combine(_directory.Path, "policy"));
    }

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _workloadApi.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task GetAsync_FetchesJwtSvidForTheBroker_AndTheBrokerAcceptsIt()
    {
        // Arrange
        await using var jwtSource = await JwtSource.CreateAsync(
            new WorkloadApiSourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = _workloadApi.Address } },
            TestContext.Current.CancellationToken);
        var subject = new JwtSvidSubjectTokenSource(jwtSource, BrokerTestHost.Issuer);
        var client = new BrokerClient(new HttpClient(), new BrokerClientOptions
        {
            TokenEndpoint = new Uri(_broker.BaseAddress, "/oauth2/token"),
            UseDPoP = false,    // the broker's issuer is not its loopback address: see ClientFixture.Options
            SubjectTokenSource = subject,
            DefaultTaskId = "svid-task",
            DefaultPurpose = "client-tests",
        });

        // Act
        var svid = await subject.GetAsync(TestContext.Current.CancellationToken);
        var token = await client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource }, TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(SubjectTokenTypes.Jwt, svid.TokenType);
        Assert.NotNull(svid.ExpiresAt);
        Assert.Equal([BrokerTestHost.Issuer], new JsonWebToken(svid.Token).Audiences);
        Assert.Equal(Agent, new JsonWebToken(token.AccessToken).Subject);
    }
}
