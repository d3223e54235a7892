using System.Net;
using Broker.Client.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Client.Tests;

public sealed class CapabilityTokenHandlerTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private static readonly CapabilityRequest Call = new("tools.call") { Resource = ClientFixture.McpResource };

    [Fact]
    public async Task SendAsync_AttachesTheCachedCapabilityToken()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync();
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-attach")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });

        // Act
        using var first = await http.PostAsync(new Uri(mcp.BaseAddress, "/mcp"), new StringContent("""{"jsonrpc":"2.0","method":"tools/list","id":1}"""));
        using var second = await http.GetAsync(new Uri(mcp.BaseAddress, "/mcp"));

        // Assert
        var token = await cache.GetTokenAsync(Call);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.All(mcp.Requests, r => Assert.Equal("Bearer " + token.AccessToken, r.Authorization));
        Assert.Equal(2, mcp.Requests.Count);
        Assert.Equal(1, fixture.Exchanges("handler-attach"));
    }

    [Fact]
    public async Task SendAsync_Unauthorized_RetriesOnceWithAFreshToken()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync(unauthorized: 1);
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-401")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });

        // Act
        using var response = await http.PostAsync(new Uri(mcp.BaseAddress, "/mcp"), new StringContent("""{"jsonrpc":"2.0","method":"tools/call","id":2}"""));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requests = mcp.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.NotEqual(requests[0].Authorization, requests[1].Authorization);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.Equal("Bearer " + (await cache.GetTokenAsync(Call)).AccessToken, requests[1].Authorization);
        Assert.Equal(2, fixture.Exchanges("handler-401"));
    }

    [Fact]
    public async Task SendAsync_UnauthorizedTwice_ReturnsTheSecond401()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync(unauthorized: [1, 2, 3]);
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-401-twice")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });

        // Act
        using var response = await http.GetAsync(new Uri(mcp.BaseAddress, "/mcp"));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(2, mcp.Requests.Count);
    }

    [Fact]
    public async Task SendAsync_UnauthorizedWithStreamedBody_NotRetried()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync(unauthorized: 1);
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-stream")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });

        // Act
        using var response = await http.PostAsync(new Uri(mcp.BaseAddress, "/mcp"), new StreamContent(new MemoryStream("{}"u8.ToArray())));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Single(mcp.Requests);
        Assert.Equal(1, fixture.Exchanges("handler-stream"));
    }

    [Fact]
    public async Task SendAsync_CallerSetAuthorization_SentUnchanged()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync();
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-caller-auth")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(mcp.BaseAddress, "/mcp"));
        request.Headers.Authorization = new("Bearer", "caller-token");

        // Act
        using var response = await http.SendAsync(request);

        // Assert
        Assert.Equal("Bearer caller-token", Assert.Single(mcp.Requests).Authorization);
        Assert.Equal(0, fixture.Exchanges("handler-caller-auth"));
    }

    [Fact]
    public async Task AddCapabilityToken_ThroughDependencyInjection_AttachesTokenAndRetriesOn401()
    {
        // Arrange
        await using var mcp = await StubServer.McpAsync(unauthorized: 2);
        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.TokenEndpoint = fixture.TokenEndpoint;
            o.UseDPoP = false;    // the broker's issuer is not its loopback address: see ClientFixture.Options
            o.SubjectTokenSource = fixture.Svid();
        });
        services.AddBrokerClient(o =>
        {
            o.DefaultTaskId = "handler-di";
            o.DefaultPurpose = "client-tests";
        });
        services.AddHttpClient("mcp", c => c.BaseAddress = mcp.BaseAddress).AddCapabilityToken(Call, mcp.BaseAddress);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("mcp");

        // Act
        using var first = await http.GetAsync(new Uri("/mcp", UriKind.Relative));
        using var second = await http.GetAsync(new Uri("/mcp", UriKind.Relative));

        // Assert
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var requests = mcp.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.Equal(requests[0].Authorization, requests[1].Authorization);
        Assert.NotEqual(requests[1].Authorization, requests[2].Authorization);
        Assert.StartsWith("Bearer ey", requests[2].Authorization, StringComparison.Ordinal);
        Assert.Equal(2, fixture.Exchanges("handler-di"));
        Assert.Single(services, d => d.ServiceType == typeof(CapabilityTokenCache));
        Assert.Single(services, d => d.ServiceType == typeof(BrokerClient));
    }

    [Fact]
    public async Task AddBrokerClient_BrokerAnswersWithRedirect_SubjectTokenNotForwarded()
    {
        // Arrange: a "broker" that redirects the exchange, with the subject token in its body, elsewhere.
        await using var elsewhere = await StubServer.McpAsync();
        await using var broker = await StubServer.StartAsync((context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            context.Response.Headers.Location = new Uri(elsewhere.BaseAddress, "/collect").ToString();
            return Task.CompletedTask;
        });
        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.TokenEndpoint = new Uri(broker.BaseAddress, "/oauth2/token");
            o.SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject.jwt.value", SubjectTokenTypes.Jwt)));
            o.DefaultTaskId = "handler-redirect";
            o.DefaultPurpose = "client-tests";
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<BrokerClient>();

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(Call));

        // Assert
        Assert.Equal(BrokerExchangeException.InvalidResponse, error.Error);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, error.StatusCode);
        Assert.Single(broker.Requests);
        Assert.Empty(elsewhere.Requests);
    }

    [Fact]
    public void AddBrokerClient_InsecureEndpoint_FailsOptionsValidation()
    {
        // Arrange
        var services = new ServiceCollection();
        services.AddBrokerClient(o =>
        {
            o.TokenEndpoint = new Uri("http://broker.example.org/oauth2/token");
            o.SubjectTokenSource = fixture.Svid();
        });
        using var provider = services.BuildServiceProvider();

        // Act
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BrokerClientOptions>>().Value);

        // Assert
        Assert.Contains("TokenEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCapabilityToken_RequestWithoutTarget_ThrowsAtRegistration()
    {
        var services = new ServiceCollection();
        services.AddBrokerClient();
        Assert.Throws<ArgumentException>(() => services.AddHttpClient("mcp").AddCapabilityToken(new CapabilityRequest("tools.call")));
    }

    [Theory]
    [InlineData("http://localhost:{port}/mcp")]          // same server, another host name: another origin
    [InlineData("https://127.0.0.1:{port}/mcp")]         // another scheme
    [InlineData("http://127.0.0.1:{other}/mcp")]         // another port
    public async Task SendAsync_OtherOrigin_NothingSentAndNoTokenFetched(string target)
    {
        // Arrange: the token may go to the MCP stub's origin only.
        await using var mcp = await StubServer.McpAsync();
        await using var other = await StubServer.McpAsync();
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-origin")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });
        var uri = new Uri(target.Replace("{port}", mcp.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{other}", other.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        // Act
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(uri));

        // Assert
        Assert.Contains("is not sent to", error.Message, StringComparison.Ordinal);
        Assert.Empty(mcp.Requests);
        Assert.Empty(other.Requests);
        Assert.Equal(0, fixture.Exchanges("handler-origin"));
    }

    [Fact]
    public async Task SendAsync_DefaultOrigin_IsTheResourceOrigin()
    {
        // Arrange: no origins named, so only https://mcp.client.test:443 may receive the token; the stub is elsewhere.
        await using var mcp = await StubServer.McpAsync();
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-default-origin")));
        using var http = new HttpClient(new CapabilityTokenHandler(cache, Call) { InnerHandler = new HttpClientHandler() });

        // Act
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(mcp.BaseAddress, "/mcp")));

        // Assert
        Assert.Empty(mcp.Requests);
        Assert.Contains("https://mcp.client.test:443", CapabilityTokenHandler.AllowedOrigins(Call, null));
    }

    [Fact]
    public void CapabilityTokenHandler_AudienceOnlyWithoutOrigins_Throws()
    {
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), fixture.Options("handler-audience")));
        Assert.Throws<ArgumentException>(() => new CapabilityTokenHandler(cache, new CapabilityRequest("tools.call") { Audience = "crm" }));
        Assert.Throws<ArgumentException>(() => new CapabilityTokenHandler(cache, Call, origins: [new Uri("ftp://mcp.client.test/")]));
    }
}
