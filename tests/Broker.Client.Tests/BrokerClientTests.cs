using System.Net;
using Broker.Client.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Client.Tests;

public sealed class BrokerClientTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private const string SuccessJson = """
        {"access_token":"header.payload.signature","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":300,"scope":"tools.read"}
        """;

    [Fact]
    public async Task ExchangeAsync_ValidRequest_ReturnsCapabilityTokenForTheTask()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var client = new BrokerClient(new HttpClient(), fixture.Options("exchange-happy"), clock);
        var request = new CapabilityRequest("tools.read", "tools.call") { Resource = ClientFixture.McpResource, Purpose = "billing-run" };

        // Act
        var token = await client.ExchangeAsync(request);

        // Assert
        Assert.Equal("tools.call tools.read", token.Scope);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", token.IssuedTokenType);
        Assert.Equal(clock.GetUtcNow(), token.IssuedAt);
        Assert.Equal(TimeSpan.FromMinutes(5), token.Lifetime);
        var jwt = new JsonWebToken(token.AccessToken);
        Assert.Equal(ClientFixture.McpResource, Assert.Single(jwt.Audiences));
        Assert.Equal("spiffe://client.test/agents/reader", jwt.Subject);
        Assert.Equal("exchange-happy", jwt.GetPayloadValue<string>("task_id"));
        Assert.Equal("billing-run", jwt.GetPayloadValue<string>("purpose"));
        Assert.DoesNotContain(token.AccessToken, token.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, fixture.Exchanges("exchange-happy"));
    }

    [Fact]
    public async Task ExchangeAsync_AudienceAndLifetime_AreSentAndHonoured()
    {
        // Arrange
        var client = new BrokerClient(new HttpClient(), fixture.Options("exchange-audience"));
        var request = new CapabilityRequest("crm.read") { Audience = "crm", Lifetime = TimeSpan.FromSeconds(90) };

        // Act
        var token = await client.ExchangeAsync(request);

        // Assert
        Assert.Equal(TimeSpan.FromSeconds(90), token.Lifetime);
        Assert.Contains("crm", new JsonWebToken(token.AccessToken).Audiences);
    }

    [Fact]
    public async Task ExchangeAsync_ActorTokenSource_TokenCarriesAct()
    {
        // Arrange
        var options = fixture.Options("exchange-actor");
        options.ActorTokenSource = fixture.Svid("/orchestrator/main");
        var client = new BrokerClient(new HttpClient(), options);

        // Act
        var error = await Record.ExceptionAsync(() => client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource }));

        // Assert: the policy names no actors, so the broker refuses delegation — proof that actor_token was sent.
        var refused = Assert.IsType<BrokerExchangeException>(error);
        Assert.Equal("unauthorized_client", refused.Error);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    public static TheoryData<string, string, string, HttpStatusCode> Refusals => new()
    {
        // capability, resource, expected error, status
        { "tools.write", ClientFixture.McpResource, "invalid_scope", HttpStatusCode.BadRequest },
        { "tools.read", "https://mcp.elsewhere.test/mcp", "invalid_target", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ExchangeAsync_BrokerRefuses_ThrowsWithErrorAndStatus(string capability, string resource, string expectedError, HttpStatusCode expectedStatus)
    {
        // Arrange
        var subject = fixture.Svid();
        var client = new BrokerClient(new HttpClient(), fixture.Options("exchange-refused", subject));

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(new CapabilityRequest(capability) { Resource = resource }));

        // Assert
        Assert.Equal(expectedError, error.Error);
        Assert.Equal(expectedStatus, error.StatusCode);
        Assert.False(string.IsNullOrEmpty(error.ErrorDescription));
        Assert.Contains(expectedError, error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task ExchangeAsync_SubjectSignedByUnknownKey_InvalidGrantWithoutTokenInMessage()
    {
        // Arrange
        var forged = Broker.IntegrationTests.Infrastructure.TestKey.CreateEs256();
        var svid = fixture.Authority.Svid("/agents/reader", key: forged);
        var client = new BrokerClient(new HttpClient(), fixture.Options("exchange-forged", new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken(svid, SubjectTokenTypes.Jwt)))));

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource }));

        // Assert
        Assert.Equal("invalid_grant", error.Error);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.DoesNotContain(svid, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExchangeAsync_ServiceUnavailableWithRetryAfter_WaitsAndRetries()
    {
        // Arrange: a broker that cannot record grants twice, then recovers.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await StubServer.StartAsync(RespondUnavailable(times: 2, retryAfter: "3"), clock);
        var client = new BrokerClient(new HttpClient(), StubOptions(broker), clock);

        // Act
        var exchange = client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource });
        await AdvanceUntilCompletedAsync(clock, exchange);
        var token = await exchange;

        // Assert
        Assert.Equal("header.payload.signature", token.AccessToken);
        var requests = broker.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.True(requests[1].ReceivedAt - requests[0].ReceivedAt >= TimeSpan.FromSeconds(3));
        Assert.True(requests[2].ReceivedAt - requests[1].ReceivedAt >= TimeSpan.FromSeconds(3));
        Assert.All(requests, r => Assert.Contains("task_id=retry-task", r.Body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExchangeAsync_ServiceUnavailableBeyondMaxRetries_ThrowsTemporarilyUnavailable()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var broker = await StubServer.StartAsync(RespondUnavailable(times: int.MaxValue, retryAfter: "1"), clock);
        var options = StubOptions(broker);
        options.MaxRetries = 1;
        var client = new BrokerClient(new HttpClient(), options, clock);

        // Act
        var exchange = client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource });
        await AdvanceUntilCompletedAsync(clock, exchange);
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => exchange);

        // Assert
        Assert.Equal("temporarily_unavailable", error.Error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(2, broker.Requests.Count);
    }

    [Theory]
    [InlineData(400, """{"error":"invalid_request","error_description":"bad"}""", "invalid_request")]
    [InlineData(500, """{"error":"server_error"}""", "server_error")]
    [InlineData(502, "<html>bad gateway</html>", BrokerExchangeException.InvalidResponse)]
    [InlineData(200, """{"access_token":"x","token_type":"Bearer"}""", BrokerExchangeException.InvalidResponse)]
    [InlineData(200, """{"access_token":"x","token_type":"N_A","expires_in":60}""", BrokerExchangeException.InvalidResponse)]
    public async Task ExchangeAsync_OtherAnswers_MappedOnceWithoutRetry(int status, string body, string expectedError)
    {
        // Arrange
        await using var broker = await StubServer.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = body.StartsWith('{') ? "application/json" : "text/html";
            await context.Response.WriteAsync(body);
        });
        var client = new BrokerClient(new HttpClient(), StubOptions(broker));

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource }));

        // Assert
        Assert.Equal(expectedError, error.Error);
        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.Single(broker.Requests);
    }

    [Fact]
    public async Task ExchangeAsync_FormParameters_FollowTheExchangeContract()
    {
        // Arrange
        await using var broker = await StubServer.StartAsync((context, _) => Ok(context));
        var options = StubOptions(broker);
        options.ActorTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("actor.jwt.value", SubjectTokenTypes.AccessToken)));
        var client = new BrokerClient(new HttpClient(), options);

        // Act
        await client.ExchangeAsync(new CapabilityRequest("b.cap", "a.cap", "b.cap") { Resource = "https://mcp.client.test/mcp", Audience = "crm", TaskId = "t:1/x", Purpose = "p.2", Lifetime = TimeSpan.FromMinutes(2) });

        // Assert
        var form = QueryHelpers(Assert.Single(broker.Requests).Body);
        Assert.Equal("urn:ietf:params:oauth:grant-type:token-exchange", form["grant_type"]);
        Assert.Equal("subject.jwt.value", form["subject_token"]);
        Assert.Equal(SubjectTokenTypes.Jwt, form["subject_token_type"]);
        Assert.Equal("a.cap b.cap", form["scope"]);
        Assert.Equal("https://mcp.client.test/mcp", form["resource"]);
        Assert.Equal("crm", form["audience"]);
        Assert.Equal("t:1/x", form["task_id"]);
        Assert.Equal("p.2", form["purpose"]);
        Assert.Equal("120", form["expires_in"]);
        Assert.Equal("actor.jwt.value", form["actor_token"]);
        Assert.Equal(SubjectTokenTypes.AccessToken, form["actor_token_type"]);
    }

    [Theory]
    [InlineData("http://broker.example.org/oauth2/token")]
    [InlineData("ftp://broker.example.org/oauth2/token")]
    [InlineData("https://user:pass@broker.example.org/oauth2/token")]
    public void Constructor_InsecureEndpoint_Throws(string endpoint)
    {
        // Arrange
        var options = new BrokerClientOptions { TokenEndpoint = new Uri(endpoint), SubjectTokenSource = fixture.Svid() };

        // Act
        var error = Assert.Throws<ArgumentException>(() => new BrokerClient(new HttpClient(), options));

        // Assert
        Assert.Contains("TokenEndpoint", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/oauth2/token")]
    [InlineData("http://[::1]:8080/oauth2/token")]
    [InlineData("http://localhost/oauth2/token")]
    [InlineData("https://broker.example.org/oauth2/token")]
    public void Constructor_HttpsOrLoopbackEndpoint_Accepted(string endpoint)
    {
        // Arrange
        var options = new BrokerClientOptions { TokenEndpoint = new Uri(endpoint), SubjectTokenSource = fixture.Svid() };

        // Act
        var client = new BrokerClient(new HttpClient(), options);

        // Assert
        Assert.NotNull(client);
    }

    [Fact]
    public void Constructor_MissingSubjectSourceAndBadDefaults_ListsEveryProblem()
    {
        // Arrange
        var options = new BrokerClientOptions { DefaultTaskId = "has space", MaxRetries = -1 };

        // Act
        var error = Assert.Throws<ArgumentException>(() => new BrokerClient(new HttpClient(), options));

        // Assert
        Assert.Contains("TokenEndpoint is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("SubjectTokenSource is required", error.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultTaskId", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRetries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExchangeAsync_NoTaskIdAnywhere_ThrowsBeforeCallingTheBroker()
    {
        // Arrange
        var subject = fixture.Svid();
        var client = new BrokerClient(new HttpClient(), new BrokerClientOptions { TokenEndpoint = fixture.TokenEndpoint, SubjectTokenSource = subject });

        // Act
        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.ExchangeAsync(new CapabilityRequest("tools.read") { Resource = ClientFixture.McpResource }));

        // Assert
        Assert.Contains("task ID", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, subject.Calls);
    }

    private static BrokerClientOptions StubOptions(StubServer broker) => new()
    {
        TokenEndpoint = new Uri(broker.BaseAddress, "/oauth2/token"),
        SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject.jwt.value", SubjectTokenTypes.Jwt))),
        DefaultTaskId = "retry-task",
        DefaultPurpose = "client-tests",
    };

    private static Func<HttpContext, int, Task> RespondUnavailable(int times, string retryAfter) => async (context, number) =>
    {
        if (number <= times)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = retryAfter;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":"temporarily_unavailable","error_description":"The grant could not be recorded; try again later."}""");
            return;
        }

        await Ok(context);
    };

    private static async Task Ok(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(SuccessJson);
    }

    private static Dictionary<string, string> QueryHelpers(string body) =>
        Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(p => p.Key, p => p.Value.ToString());

    /// <summary>Moves the fake clock a second at a time until <paramref name="task"/> ends, so retry delays elapse without waiting.</summary>
    internal static async Task AdvanceUntilCompletedAsync(FakeTimeProvider clock, Task task)
    {
        for (var i = 0; i < 1000 && !task.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(task, Task.Delay(20, TestContext.Current.CancellationToken));
        }

        Assert.True(task.IsCompleted, "the exchange did not complete");
    }
}
