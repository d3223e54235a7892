using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Validation.Tests;

/// <summary>
/// RFC 9449 at the MCP server: a DPoP-bound token (<c>cnf.jkt</c>) is honoured only with the <c>DPoP</c> scheme and a
/// proof for this request signed with its key; every other presentation is refused with the RFC 9449 §7.1 challenge.
/// </summary>
[Collection(BrokerTests.Name)]
public sealed class DPoPBindingTests(BrokerFixture fixture)
{
    private const string ResourceMetadata = "https://mcp.test/.well-known/oauth-protected-resource/mcp";
    private const string Algs = "ES256 ES384 ES512 PS256 PS384 PS512";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task BoundToken_WithAProofOfItsKey_ToolRunsAndSeesTheKey()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act: two calls, a fresh proof each.
        using var first = await SendAsync(server, Rpc.ToolCall("whoami"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));
        using var second = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));

        // Assert
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var caller = await first.Content.ReadAsStringAsync(Ct);
        Assert.Contains("key_thumbprint", caller, StringComparison.Ordinal);
        Assert.Contains(proofs.Thumbprint, caller, StringComparison.Ordinal);
        Assert.False(first.Headers.Contains(DPoPConstants.NonceHeaderName));
        Assert.Equal(2, server.ToolRuns.Count);
    }

    [Theory]
    [MemberData(nameof(DPoPCases.Failures), MemberType = typeof(DPoPCases))]
    public async Task BoundToken_PresentedWrongly_401WithTheRfc9449Challenge(string scenario, string scheme, string error, string description)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var attempt = DPoPCases.Make(scenario, Broker, server.Endpoint);
        if (attempt.SendTwice)
        {
            using var accepted = await SendAsync(server, Rpc.ToolCall("read_file"), attempt);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        var runs = server.ToolRuns.Count;

        // Act
        using var response = await SendAsync(server, Rpc.ToolCall("read_file"), attempt);

        // Assert: the error in the challenge of its scheme, the other scheme offered bare; DPoP's names its algorithms.
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{scenario}: HTTP {(int)response.StatusCode}");
        var refusal = $"error=\"{error}\", error_description=\"{description}\"";
        Assert.Equal(
            [
                scheme == "Bearer" ? $"Bearer resource_metadata=\"{ResourceMetadata}\", {refusal}" : $"Bearer resource_metadata=\"{ResourceMetadata}\"",
                scheme == "DPoP" ? $"DPoP resource_metadata=\"{ResourceMetadata}\", {refusal}, algs=\"{Algs}\"" : $"DPoP resource_metadata=\"{ResourceMetadata}\", algs=\"{Algs}\"",
            ],
            Rpc.Challenges(response));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal(runs, server.ToolRuns.Count);
        McpToolCallTests.AssertNoTokenLogged(server, attempt.Token);
        foreach (var proof in attempt.Proofs)
        {
            McpToolCallTests.AssertNoTokenLogged(server, proof);
        }
    }

    [Fact]
    public async Task NoToken_401OffersBearerAndDPoP()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"));

        // Assert: RFC 9449 §7.2, RFC 9110 §11.6.1: one field per scheme.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(
            [$"Bearer resource_metadata=\"{ResourceMetadata}\"", $"DPoP resource_metadata=\"{ResourceMetadata}\", algs=\"{Algs}\""],
            Rpc.Challenges(response));
    }

    [Fact]
    public async Task BoundToken_WithoutTheCapability_403DPoPChallengeWithScope()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var response = await SendAsync(server, Rpc.ToolCall("write_file", new { path = "a", content = "b" }), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));

        // Assert: the step-up challenge in the scheme the token came with (RFC 9449 §7.1 reuses RFC 6750's errors).
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(
            [$"DPoP resource_metadata=\"{ResourceMetadata}\", error=\"insufficient_scope\", error_description=\"The token lacks capabilities this operation needs.\", scope=\"files.write\", algs=\"{Algs}\""],
            Rpc.Challenges(response));
        Assert.Equal(0, server.ToolRuns.Count);
    }

    [Fact]
    public async Task ServerNonce_FirstProofWithoutIt401UseDPoPNonce_RetryWithItAccepted()
    {
        // Arrange: RFC 9449 §9, a resource server that hands out nonces.
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.DPoP.NonceKey = RandomNumberGenerator.GetBytes(32));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var challenged = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));
        var nonce = Assert.Single(challenged.Headers.GetValues(DPoPConstants.NonceHeaderName));
        using var wrongNonce = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token, nonce: "not-this-servers-nonce")));
        using var accepted = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token, nonce)));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.Equal(
            $"DPoP resource_metadata=\"{ResourceMetadata}\", error=\"use_dpop_nonce\", error_description=\"The DPoP proof must carry the nonce this server sent in DPoP-Nonce.\", algs=\"{Algs}\"",
            Rpc.Challenge(challenged, "DPoP"));
        Assert.Equal(DPoPNonce.Length, nonce.Length);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongNonce.StatusCode);
        Assert.Contains("error=\"use_dpop_nonce\"", Rpc.Challenge(wrongNonce, "DPoP"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(nonce, Assert.Single(accepted.Headers.GetValues(DPoPConstants.NonceHeaderName)));
        Assert.Equal(1, server.ToolRuns.Count);
    }

    [Fact]
    public async Task PublicOrigin_ProofsNameIt_NotTheAddressTheServerListensOn()
    {
        // Arrange: behind a proxy, clients address https://mcp.test; the server listens on loopback http.
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.DPoP.PublicOrigin = new Uri("https://mcp.test"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var local = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));
        using var advertised = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", new Uri("https://mcp.test/mcp"), token)));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, local.StatusCode);
        Assert.Contains("error=\"invalid_dpop_proof\"", Rpc.Challenge(local, "DPoP"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, advertised.StatusCode);
    }

    [Fact]
    public async Task RequireBoundTokens_BearerAndCertificateBoundTokensRefused_MetadataSaysSo()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o => o.DPoP.RequireBoundTokens = true);
        using var client = server.CreateHttpClient();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var bound = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var bearer = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), await Broker.ExchangeAsync("files.read"));
        using var certificateBound = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["x5t#S256"] = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }));
        using var dpop = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(bound, proofs.CreateProof("POST", server.Endpoint, bound)));
        using var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-protected-resource/mcp", Ct));

        // Assert
        foreach (var refused in new[] { bearer, certificateBound })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("error_description=\"This resource accepts DPoP-bound tokens only.\"", Rpc.Challenge(refused), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, dpop.StatusCode);
        Assert.True(metadata.RootElement.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
    }

    [Fact]
    public async Task Metadata_AdvertisesTheProofAlgorithms_BoundTokensNotRequiredByDefault()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker, o =>
        {
            o.DPoP.Algorithms.Clear();
            o.DPoP.Algorithms.Add("ES256");
        });
        using var client = server.CreateHttpClient();

        // Act
        using var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-protected-resource/mcp", Ct));
        using var challenged = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"));

        // Assert: RFC 9728 §2.
        Assert.Equal(["ES256"], metadata.RootElement.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.False(metadata.RootElement.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
        Assert.Equal($"DPoP resource_metadata=\"{ResourceMetadata}\", algs=\"ES256\"", Rpc.Challenge(challenged, "DPoP"));
    }

    [Fact]
    public async Task ProofWithAnAlgorithmNotConfigured_Refused()
    {
        // Arrange: PS256 is allowed by the JOSE allow-list, but this server accepts ES256 only.
        await using var server = await TestMcpServer.StartAsync(Broker, o =>
        {
            o.DPoP.Algorithms.Clear();
            o.DPoP.Algorithms.Add("ES256");
        });
        using var rsa = RSA.Create(2048);
        var proofs = new DPoPProofBuilder(rsa);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var response = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_dpop_proof\"", Rpc.Challenge(response, "DPoP"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplayCache_IsPluggable_AndWhenItCannotRecord_503NotAnAcceptedProof()
    {
        // Arrange: an application's own (shared) replay cache, registered before AddBrokerTokens; here one whose store is down.
        var cache = new UnavailableReplayCache();
        await using var server = await TestMcpServer.StartAsync(Broker, services: s => s.AddSingleton<IDPoPReplayCache>(cache));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proofs = new DPoPProofBuilder(key);
        var token = DPoPCases.Bind(Broker, proofs.Thumbprint);

        // Act
        using var response = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, proofs.CreateProof("POST", server.Endpoint, token)));

        // Assert: fail closed, and tell the client not to fetch a new token or key.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, cache.Calls);
        Assert.Equal(0, server.ToolRuns.Count);
    }

    [Theory]
    [InlineData("ES256")]
    [InlineData("PS256")]
    public async Task ProofsMadeByTheNpmDpopPackage_Accepted(string alg)
    {
        // Arrange: the key is made here, so the token can be bound to it before the proof (which hashes the token) is
        // made; node and the npm dpop package make the proof with it.
        await using var server = await TestMcpServer.StartAsync(Broker);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        var (jwk, thumbprint) = alg == "ES256"
            ? (DPoPTestProofs.EcJwk(ec, includePrivate: true), new DPoPProofBuilder(ec).Thumbprint)
            : (DPoPTestProofs.RsaJwk(rsa, includePrivate: true), new DPoPProofBuilder(rsa).Thumbprint);
        var token = DPoPCases.Bind(Broker, thumbprint);
        var made = await DPoPNode.MakeProofsAsync(
            [
                new DPoPNode.Request(alg, "POST", server.Endpoint.AbsoluteUri, token, PrivateJwk: jwk),
                new DPoPNode.Request(alg, "POST", server.Endpoint.AbsoluteUri, token, PrivateJwk: (JsonObject)jwk.DeepClone()),
            ],
            Ct);

        // Act
        using var first = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, made[0].Value));
        using var second = await SendAsync(server, Rpc.ToolCall("read_file"), DPoPCases.Attempt.DPoP(token, made[1].Value));

        // Assert
        Assert.Equal(thumbprint, made[0].Jkt);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, server.ToolRuns.Count);
    }

    private static async Task<HttpResponseMessage> SendAsync(TestMcpServer server, string body, DPoPCases.Attempt attempt) =>
        await Rpc.SendAsync(server, body, headers: attempt.Headers());

    private sealed class UnavailableReplayCache : IDPoPReplayCache
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            throw new DPoPReplayCacheUnavailableException("the store is down");
        }
    }
}
