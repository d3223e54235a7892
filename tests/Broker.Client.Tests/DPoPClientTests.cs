using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using Broker.Client.Tests.Infrastructure;
using Broker.Jose.DPoP;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Client.Tests;

/// <summary>
/// RFC 9449 in the client: a proof of the agent's one key with each exchange and with each request to a resource
/// server, against stand-ins that check every proof with the broker's own validator; nonce retries, once each; the
/// fallback to bearer tokens; no key material anywhere it could leak.
/// </summary>
public sealed class DPoPClientTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private static readonly CapabilityRequest Call = new("tools.call") { Resource = ClientFixture.McpResource, TaskId = "dpop", Purpose = "tests" };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exchange_SendsAProofOfTheAgentKey_TokenIsBoundToIt()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync();
        var client = new BrokerClient(new HttpClient(), Options(broker));

        // Act
        var first = await client.ExchangeAsync(Call, Ct);
        var second = await client.ExchangeAsync(Call, Ct);

        // Assert: one key for every exchange, each proof valid for POST to the token endpoint.
        Assert.Equal("DPoP", first.TokenType);
        Assert.All(broker.Verdicts, v => Assert.Equal(client.DPoPKey!.Thumbprint, Assert.IsType<DPoPProofResult.Valid>(v).Thumbprint));
        Assert.Equal(client.DPoPKey!.Thumbprint, DPoPStandIn.BoundKey(first.AccessToken));
        Assert.Equal(client.DPoPKey.Thumbprint, DPoPStandIn.BoundKey(second.AccessToken));
        Assert.Equal(2, broker.Requests.Count);
    }

    [Fact]
    public async Task Exchange_BrokerAsksForANonce_RetriedOnceWithIt_ThenRemembered()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync(new() { RequireNonce = true });
        var client = new BrokerClient(new HttpClient(), Options(broker));

        // Act
        var token = await client.ExchangeAsync(Call, Ct);
        await client.ExchangeAsync(Call, Ct);

        // Assert: the first proof had no nonce (use_dpop_nonce), the retry and the next exchange carry the broker's.
        Assert.Equal("DPoP", token.TokenType);
        var verdicts = broker.Verdicts.ToArray();
        Assert.Equal(3, verdicts.Length);
        Assert.Equal(DPoPProofError.MissingNonce, Assert.IsType<DPoPProofResult.Invalid>(verdicts[0]).Error);
        Assert.IsType<DPoPProofResult.Valid>(verdicts[1]);
        Assert.IsType<DPoPProofResult.Valid>(verdicts[2]);
        Assert.Equal(broker.Requests.ElementAt(0).Body, broker.Requests.ElementAt(1).Body);
    }

    [Fact]
    public async Task Exchange_BrokerRefusesEvenItsOwnNonce_NotRetriedTwice()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync(new() { RequireNonce = true, NonceChallengeAlways = true });
        var client = new BrokerClient(new HttpClient(), Options(broker));

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(Call, Ct));

        // Assert
        Assert.Equal("use_dpop_nonce", error.Error);
        Assert.Equal(2, broker.Requests.Count);
    }

    [Fact]
    public async Task Exchange_BrokerAnswersBearer_TokenUsedAsABearerToken()
    {
        // Arrange: a broker that ignores the proof (an older one) answers token_type Bearer.
        await using var broker = await DPoPStandIn.BrokerAsync(new() { AnswerBearer = true });
        await using var mcp = await DPoPStandIn.ResourceAsync();
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), Options(broker)));
        using var http = Handler(cache, mcp);

        // Act
        using var response = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer", (await cache.GetTokenAsync(Call, Ct)).TokenType);
        var sent = Assert.Single(mcp.Requests);
        Assert.StartsWith("Bearer ", sent.Authorization, StringComparison.Ordinal);
        Assert.Empty(sent.Proofs);
    }

    [Fact]
    public async Task Exchange_TheRealBroker_RefusesAProofForAnotherUrl_AndRecordsNothing()
    {
        // Arrange: the client calls the broker at its loopback address, so its proof's htu names that address, not the
        // token endpoint of the broker's issuer (https://broker.test): a proof made for another URL.
        var options = fixture.Options("dpop-real-broker");
        options.UseDPoP = true;
        var client = new BrokerClient(new HttpClient(), options);

        // Act
        var refused = await Assert.ThrowsAsync<BrokerExchangeException>(() => client.ExchangeAsync(new CapabilityRequest("tools.call") { Resource = ClientFixture.McpResource }, Ct));

        // Assert
        Assert.NotNull(client.DPoPKey);
        Assert.Equal("invalid_dpop_proof", refused.Error);
        Assert.Equal(0, fixture.Exchanges("dpop-real-broker"));
    }

    [Fact]
    public async Task UseDPoPOff_NoProofNoKey_BearerToken()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync();
        var options = Options(broker);
        options.UseDPoP = false;
        var client = new BrokerClient(new HttpClient(), options);

        // Act
        var token = await client.ExchangeAsync(Call, Ct);

        // Assert
        Assert.Null(client.DPoPKey);
        Assert.Equal("Bearer", token.TokenType);
        Assert.Empty(Assert.Single(broker.Requests).Proofs);
    }

    [Fact]
    public async Task UseDPoPOff_BrokerAnswersDPoPAnyway_InvalidResponse()
    {
        // Arrange: a DPoP-bound token for a key this client never proved: it could not be used.
        await using var broker = await StubServer.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"access_token":"x","token_type":"DPoP","expires_in":60}""", Ct);
        });
        var options = new BrokerClientOptions
        {
            TokenEndpoint = new Uri(broker.BaseAddress, "/oauth2/token"),
            SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject.token.value", SubjectTokenTypes.Jwt))),
            UseDPoP = false,
        };

        // Act
        var error = await Assert.ThrowsAsync<BrokerExchangeException>(() => new BrokerClient(new HttpClient(), options).ExchangeAsync(Call, Ct));

        // Assert
        Assert.Equal(BrokerExchangeException.InvalidResponse, error.Error);
    }

    [Fact]
    public async Task Handler_SendsTheDPoPSchemeAndAProofOfEachRequest_OneKeyThroughout()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync();
        await using var mcp = await DPoPStandIn.ResourceAsync();
        var client = new BrokerClient(new HttpClient(), Options(broker));
        using var cache = new CapabilityTokenCache(client);
        using var http = Handler(cache, mcp);

        // Act: a POST, a GET with a query (not part of htu), and a POST after the token was replaced.
        using var post = await http.PostAsync(mcp.Endpoint, new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""), Ct);
        using var get = await http.GetAsync(new Uri(mcp.Endpoint, "?cursor=2"), Ct);
        cache.Invalidate(Call);
        using var again = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);

        // Assert: every proof checked by the validator with htm, htu, ath and the bound key; the key never changed.
        Assert.All(new[] { post, get, again }, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var requests = mcp.Requests.ToArray();
        Assert.All(requests, r => Assert.StartsWith("DPoP ", r.Authorization, StringComparison.Ordinal));
        Assert.All(mcp.Verdicts, v => Assert.Equal(client.DPoPKey!.Thumbprint, Assert.IsType<DPoPProofResult.Valid>(v).Thumbprint));
        Assert.Equal(3, mcp.Verdicts.Count);
        Assert.NotEqual(requests[0].Authorization, requests[2].Authorization);
        Assert.Equal(3, requests.Select(r => Assert.Single(r.Proofs)).Distinct().Count());
    }

    [Fact]
    public async Task Handler_ResourceServerNonceChallenge_RetriedOnceWithTheNonceAndTheSameBody_ThenRemembered()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync();
        await using var mcp = await DPoPStandIn.ResourceAsync(new() { RequireNonce = true });
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), Options(broker)));
        using var http = Handler(cache, mcp);
        const string Body = """{"jsonrpc":"2.0","id":7,"method":"tools/call"}""";

        // Act
        using var first = await http.PostAsync(mcp.Endpoint, new StringContent(Body), Ct);
        using var second = await http.PostAsync(mcp.Endpoint, new StringContent(Body), Ct);

        // Assert: challenged once, retried with the nonce (same token, same body), and the next call needs no retry.
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var verdicts = mcp.Verdicts.ToArray();
        Assert.Equal(3, verdicts.Length);
        Assert.Equal(DPoPProofError.MissingNonce, Assert.IsType<DPoPProofResult.Invalid>(verdicts[0]).Error);
        Assert.IsType<DPoPProofResult.Valid>(verdicts[1]);
        Assert.IsType<DPoPProofResult.Valid>(verdicts[2]);
        var requests = mcp.Requests.ToArray();
        Assert.Equal(requests[0].Authorization, requests[1].Authorization);
        Assert.All(requests, r => Assert.Equal(Body, r.Body));
        Assert.Single(broker.Requests);
    }

    [Fact]
    public async Task Handler_NonceChallengeAgainAfterTheRetry_NotRetriedTwice_NoNewToken()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync();
        await using var mcp = await DPoPStandIn.ResourceAsync(new() { RequireNonce = true, NonceChallengeAlways = true });
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), Options(broker)));
        using var http = Handler(cache, mcp);

        // Act
        using var response = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(2, mcp.Requests.Count);
        Assert.Single(broker.Requests);
    }

    [Fact]
    public async Task Handler_InvalidToken_NewTokenWithAFreshProof_DistinctFromTheNonceRetry()
    {
        // Arrange: the first request is challenged for a nonce, its retry is refused as invalid_token (revoked).
        await using var broker = await DPoPStandIn.BrokerAsync();
        await using var mcp = await DPoPStandIn.ResourceAsync(new() { RequireNonce = true, InvalidTokenOn = [2] });
        using var cache = new CapabilityTokenCache(new BrokerClient(new HttpClient(), Options(broker)));
        using var http = Handler(cache, mcp);

        // Act
        using var response = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);

        // Assert: nonce retry (same token), then one new token, with a proof of it and the remembered nonce.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requests = mcp.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.Equal(requests[0].Authorization, requests[1].Authorization);
        Assert.NotEqual(requests[1].Authorization, requests[2].Authorization);
        Assert.IsType<DPoPProofResult.Valid>(mcp.Verdicts.Last());
        Assert.Equal(2, broker.Requests.Count);
    }

    [Fact]
    public async Task Nonces_AreKeptPerServer_TheBrokersNeverGoesToTheResourceServer()
    {
        // Arrange
        await using var broker = await DPoPStandIn.BrokerAsync(new() { RequireNonce = true });
        await using var mcp = await DPoPStandIn.ResourceAsync();
        var client = new BrokerClient(new HttpClient(), Options(broker));
        using var cache = new CapabilityTokenCache(client);
        using var http = Handler(cache, mcp);

        // Act
        using var response = await http.GetAsync(mcp.Endpoint, Ct);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(client.DPoPKey!.NonceFor(broker.TokenEndpoint));
        Assert.Null(client.DPoPKey.NonceFor(mcp.Endpoint));
        var proof = Assert.Single(Assert.Single(mcp.Requests).Proofs)!;
        Assert.DoesNotContain("nonce", Base64UrlEncoder.Decode(proof.Split('.')[1]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyMaterial_NeverInLogsOrToString()
    {
        // Arrange: the whole flow through DI, with every log line kept.
        await using var broker = await DPoPStandIn.BrokerAsync(new() { RequireNonce = true });
        await using var mcp = await DPoPStandIn.ResourceAsync(new() { RequireNonce = true, InvalidTokenOn = [3] });
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        services.AddBrokerClient(o =>
        {
            o.TokenEndpoint = broker.TokenEndpoint;
            o.SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject.token.value", SubjectTokenTypes.Jwt)));
            o.DefaultTaskId = "dpop";
            o.DefaultPurpose = "tests";
        });
        services.AddHttpClient("mcp").AddCapabilityToken(Call, mcp.BaseAddress);
        await using var provider = services.BuildServiceProvider();
        using var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("mcp");

        // Act
        using var first = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);
        using var second = await http.PostAsync(mcp.Endpoint, new StringContent("{}"), Ct);
        var key = provider.GetRequiredService<DPoPKey>();
        var token = await provider.GetRequiredService<CapabilityTokenCache>().GetTokenAsync(Call, Ct);

        // Assert: one key for the agent; neither its private part, nor a proof, nor a token in any log line or ToString.
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(key.Thumbprint, DPoPStandIn.BoundKey(token.AccessToken));
        var privateKey = Base64UrlEncoder.Encode(((ECDsa)typeof(DPoPKey).GetField("_key", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(key)!).ExportParameters(true).D!);
        var secrets = mcp.Requests.Concat(broker.Requests).SelectMany(r => r.Proofs.Append(r.Authorization)).Where(s => !string.IsNullOrEmpty(s)).Select(s => s!.Replace("DPoP ", "", StringComparison.Ordinal))
            .Append(privateKey).Append(token.AccessToken).ToArray();
        var texts = logs.Lines.Append(key.ToString()).Append(token.ToString()).ToArray();
        Assert.NotEmpty(logs.Lines);
        Assert.Contains(key.Thumbprint, key.ToString(), StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.All(texts, text => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
        }
    }

    private static BrokerClientOptions Options(DPoPStandIn broker) => new()
    {
        TokenEndpoint = broker.TokenEndpoint,
        SubjectTokenSource = new DelegateSubjectTokenSource(_ => ValueTask.FromResult(new SubjectToken("subject.token.value", SubjectTokenTypes.Jwt))),
    };

    private static HttpClient Handler(CapabilityTokenCache cache, DPoPStandIn mcp) =>
        new(new CapabilityTokenHandler(cache, Call, origins: [mcp.BaseAddress]) { InnerHandler = new HttpClientHandler() });

    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new ListLogger(_lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{eventId.Name}: {formatter(state, exception)} {exception}");
        }
    }
}
