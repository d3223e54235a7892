using System.Text.Json;
using Broker.Client;
using Broker.Jose.DPoP;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>
/// Broker.Client's DPoP against Broker.Validation's: the C# MCP SDK's client, through <see cref="CapabilityTokenHandler"/>,
/// calls the C# MCP server with a token bound to the agent's key. The token comes from a stand-in token endpoint that
/// does what RFC 9449 §5 says (checks the proof, binds the broker-signed token to its key) until the broker does.
/// </summary>
[Collection(BrokerTests.Name)]
public sealed class ClientDPoPTests(BrokerFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task McpSdkClient_ThroughTheHandler_CallsToolsWithADPoPBoundToken(bool serverNonces)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.DPoP.NonceKey = serverNonces ? System.Security.Cryptography.RandomNumberGenerator.GetBytes(32) : null);
        await using var tokenEndpoint = await StandInTokenEndpoint.StartAsync(Broker);
        var brokerClient = new BrokerClient(new HttpClient(), new BrokerClientOptions
        {
            TokenEndpoint = tokenEndpoint.Uri,
            SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject", SubjectTokenTypes.Jwt))),
        });
        using var cache = new CapabilityTokenCache(brokerClient);
        var request = new CapabilityRequest("files.read") { Resource = TestBroker.Resource, TaskId = "task-1", Purpose = "tests" };
        using var http = new HttpClient(new CapabilityTokenHandler(cache, request, origins: [server.BaseAddress]) { InnerHandler = new SocketsHttpHandler() });
        var transport = new HttpClientTransport(new HttpClientTransportOptions { Endpoint = server.Endpoint, TransportMode = HttpTransportMode.StreamableHttp }, http);

        // Act
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: Ct);
        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        var first = await client.CallToolAsync("whoami", cancellationToken: Ct);
        var second = await client.CallToolAsync("whoami", cancellationToken: Ct);

        // Assert: the server saw the agent's key on every call; one exchange.
        Assert.Contains(tools, t => t.Name == "whoami");
        foreach (var result in new[] { first, second })
        {
            Assert.NotEqual(true, result.IsError);
            using var caller = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
            Assert.Equal(brokerClient.DPoPKey!.Thumbprint, caller.RootElement.GetProperty("key_thumbprint").GetString());
        }

        Assert.Equal("DPoP", (await cache.GetTokenAsync(request, Ct)).TokenType);
        Assert.Equal(1, tokenEndpoint.Issued);
        Assert.Equal(2, server.ToolRuns.Count);
    }

    /// <summary>RFC 9449 §5 at a token endpoint: the proof checked with the broker's validator, the token bound to its key.</summary>
    private sealed class StandInTokenEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _issued;

        private StandInTokenEndpoint(WebApplication app, Uri uri)
        {
            _app = app;
            Uri = uri;
        }

        public Uri Uri { get; }

        public int Issued => Volatile.Read(ref _issued);

        public static async Task<StandInTokenEndpoint> StartAsync(TestBroker broker)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(TimeProvider.System), TimeProvider.System);
            StandInTokenEndpoint? endpoint = null;
            app.MapPost("/oauth2/token", async context =>
            {
                var uri = UriHelper.BuildAbsolute(context.Request.Scheme, context.Request.Host, context.Request.PathBase, context.Request.Path);
                if (await validator.ValidateAsync(context.Request.Headers[DPoPConstants.HeaderName], "POST", uri) is not DPoPProofResult.Valid valid)
                {
                    context.Response.StatusCode = 400;
                    await context.Response.WriteAsJsonAsync(new { error = "invalid_dpop_proof" });
                    return;
                }

                Interlocked.Increment(ref endpoint!._issued);
                await context.Response.WriteAsJsonAsync(new
                {
                    access_token = DPoPCases.Bind(broker, valid.Thumbprint),
                    token_type = "DPoP",
                    expires_in = 300,
                    scope = "files.read",
                    issued_token_type = "urn:ietf:params:oauth:token-type:access_token",
                });
            });
            await app.StartAsync();
            endpoint = new StandInTokenEndpoint(app, new Uri(app.Urls.Single() + "/oauth2/token"));
            return endpoint;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
