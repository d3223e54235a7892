using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>
/// Interop (RFC 9068, RFC 9449) with two implementations that share nothing with the broker: tokens minted by the real
/// broker through real exchanges, whose DPoP proofs (to the broker and to the resource server) the npm <c>dpop</c>
/// package makes, validated by the npm <c>oauth4webapi</c> package's <c>validateJwtAccessToken</c> at a small node
/// resource server (tests/dpop-node/resource-server.mjs). Every refusal is asserted as oauth4webapi states it.
/// </summary>
public sealed class OAuth4WebApiInteropTests(OAuth4WebApiServerFixture fixture) : IClassFixture<OAuth4WebApiServerFixture>
{
    private const string Reader = "spiffe://dev.localhost/agents/reader";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    private Uri TokenEndpoint => new(Broker.BaseAddress, "oauth2/token");

    [Theory]
    [InlineData("ES256", "GET")]
    [InlineData("ES256", "POST")]
    [InlineData("PS256", "GET")]
    public async Task DPoPBoundToken_WithANpmDpopProof_AcceptedByOAuth4WebApi(string alg, string method)
    {
        // Arrange: one key, the npm dpop package's proofs with it, first to the broker (binding), then to the server.
        using var key = Key.Create(alg);
        var (token, jkt) = await ExchangeWithProofAsync(key);

        // Act
        var answer = await SendAsync(method, "DPoP " + token, await ProofAsync(key, method, fixture.Endpoint, token));

        // Assert: oauth4webapi checked typ at+jwt, the RFC 9068 claims, the broker's JWKS signature, and the proof
        // (htm, htu, iat, ath, cnf.jkt) against the same thumbprint the package computes.
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Body.ToJsonString());
        var claims = answer.Body["claims"]!.AsObject();
        Assert.Equal(jkt, (string?)claims["cnf"]!["jkt"]);
        Assert.Equal(key.Thumbprint, jkt);
        Assert.Equal(Reader, (string?)claims["sub"]);
        Assert.Equal(Reader, (string?)claims["client_id"]);
        Assert.Equal(Broker.Issuer, (string?)claims["iss"]);
        Assert.Equal(new JsonWebToken(token).Id, (string?)claims["jti"]);
        Assert.Equal("at+jwt", new JsonWebToken(token).Typ);
    }

    [Fact]
    public async Task BearerToken_AsBearer_AcceptedByOAuth4WebApi_WithoutConfirmation()
    {
        // Arrange: the broker's RFC 9068 profile without DPoP (no proof at the exchange).
        var token = await Broker.ExchangeAsync("files.read");

        // Act
        var answer = await SendAsync("GET", "Bearer " + token);

        // Assert
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Body.ToJsonString());
        Assert.Null(answer.Body["claims"]!["cnf"]);
    }

    /// <summary>Scenario, what oauth4webapi says (its error message, a stable string of the package's API).</summary>
    public static TheoryData<string, string> Refusals => new()
    {
        { "proof by another key", "JWT Access Token confirmation mismatch" },
        { "missing ath", "JWT \"ath\" (access token hash) claim missing" },
        { "ath of another token", "DPoP Proof ath mismatch" },
        { "downgrade to Bearer with the proof", "operation indicated DPoP use but the request's Authorization HTTP Header scheme is not DPoP" },
        { "downgrade to Bearer without a proof", "operation indicated DPoP use but the request has no DPoP HTTP Header" },
        { "DPoP scheme without a proof", "operation indicated DPoP use but the request has no DPoP HTTP Header" },
        { "proof for another URL", "DPoP Proof htu mismatch" },
        { "proof for another method", "DPoP Proof htm mismatch" },
        { "a bearer token with the DPoP scheme", "JWT \"cnf\" (confirmation) claim missing" },
        { "a token for another resource", "unexpected JWT \"aud\" (audience) claim value" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task PresentedWrongly_RefusedByOAuth4WebApi(string scenario, string message)
    {
        // Arrange: a DPoP-bound token from the broker, and the request the scenario makes of it.
        using var key = Key.Create("ES256");
        var (token, _) = await ExchangeWithProofAsync(key);
        var (authorization, proof) = scenario switch
        {
            "proof by another key" => await WithAnotherKeyAsync(token),
            "missing ath" => ("DPoP " + token, await ProofAsync(key, "GET", fixture.Endpoint, accessToken: null)),
            "ath of another token" => ("DPoP " + token, await ProofAsync(key, "GET", fixture.Endpoint, (await ExchangeWithProofAsync(key)).Token)),
            "downgrade to Bearer with the proof" => ("Bearer " + token, await ProofAsync(key, "GET", fixture.Endpoint, token)),
            "downgrade to Bearer without a proof" => ("Bearer " + token, null),
            "DPoP scheme without a proof" => ("DPoP " + token, null),
            "proof for another URL" => ("DPoP " + token, await ProofAsync(key, "GET", new Uri(fixture.Endpoint, "/other"), token)),
            "proof for another method" => ("DPoP " + token, await ProofAsync(key, "POST", fixture.Endpoint, token)),
            "a bearer token with the DPoP scheme" => await BearerWithDPoPSchemeAsync(key),
            "a token for another resource" => await ForAnotherResourceAsync(key),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
        };

        // Act
        var answer = await SendAsync("GET", authorization, proof);

        // Assert
        Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"{scenario}: HTTP {(int)answer.Status} {answer.Body.ToJsonString()}");
        Assert.Equal(message, (string?)answer.Body["message"]);
        Assert.Equal("OperationProcessingError", (string?)answer.Body["name"]);
        Assert.DoesNotContain(token, fixture.Server.Output, StringComparison.Ordinal);

        async Task<(string, string?)> WithAnotherKeyAsync(string stolen)
        {
            // The thief holds the token but not its key: a well-formed proof, with ath, by a key of its own.
            using var thief = Key.Create("ES256");
            return ("DPoP " + stolen, await ProofAsync(thief, "GET", fixture.Endpoint, stolen));
        }

        async Task<(string, string?)> BearerWithDPoPSchemeAsync(Key proofKey)
        {
            var bearer = await Broker.ExchangeAsync("files.read");
            return ("DPoP " + bearer, await ProofAsync(proofKey, "GET", fixture.Endpoint, bearer));
        }

        async Task<(string, string?)> ForAnotherResourceAsync(Key proofKey)
        {
            var (other, _) = await ExchangeWithProofAsync(proofKey, "crm.read", TestBroker.OtherResource);
            return ("DPoP " + other, await ProofAsync(proofKey, "GET", fixture.Endpoint, other));
        }
    }

    /// <summary>A real RFC 8693 exchange at the broker with a proof by <paramref name="key"/> made by the npm dpop package.</summary>
    private async Task<(string Token, string Jkt)> ExchangeWithProofAsync(Key key, string scope = "files.read", string resource = TestBroker.Resource)
    {
        var proof = (await DPoPNode.MakeProofsAsync([new DPoPNode.Request(key.Alg, "POST", TokenEndpoint.AbsoluteUri, PrivateJwk: key.PrivateJwk())], Ct))[0];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
                ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
                ["subject_token"] = await Broker.SvidAsync(Reader),
                ["resource"] = resource,
                ["scope"] = scope,
                ["task_id"] = "oauth4webapi",
                ["purpose"] = "tests",
            }),
        };
        request.Headers.Add("DPoP", proof.Value);
        using var response = await Broker.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"The exchange failed: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal("DPoP", json.RootElement.GetProperty("token_type").GetString());
        return (json.RootElement.GetProperty("access_token").GetString()!, proof.Jkt);
    }

    private static async Task<string> ProofAsync(Key key, string method, Uri url, string? accessToken) =>
        (await DPoPNode.MakeProofsAsync([new DPoPNode.Request(key.Alg, method, url.AbsoluteUri, accessToken, PrivateJwk: key.PrivateJwk())], Ct))[0].Value;

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(string method, string authorization, string? proof = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), fixture.Endpoint);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (proof is not null)
        {
            request.Headers.Add("DPoP", proof);
        }

        using var response = await client.SendAsync(request, Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject());
    }

    /// <summary>A DPoP key made here (so a token can be bound to it before the proof that hashes the token is made).</summary>
    private sealed class Key : IDisposable
    {
        private readonly ECDsa? _ec;
        private readonly RSA? _rsa;

        private Key(string alg, ECDsa? ec, RSA? rsa)
        {
            Alg = alg;
            _ec = ec;
            _rsa = rsa;
            Thumbprint = ec is not null ? new DPoPProofBuilder(ec).Thumbprint : new DPoPProofBuilder(rsa!).Thumbprint;
        }

        public string Alg { get; }

        /// <summary>The RFC 7638 thumbprint as Broker.Jose computes it.</summary>
        public string Thumbprint { get; }

        public static Key Create(string alg) => alg switch
        {
            "ES256" => new Key(alg, ECDsa.Create(ECCurve.NamedCurves.nistP256), null),
            "PS256" => new Key(alg, null, RSA.Create(2048)),
            _ => throw new ArgumentOutOfRangeException(nameof(alg), alg, null),
        };

        public JsonObject PrivateJwk() =>
            _ec is not null ? DPoPTestProofs.EcJwk(_ec, includePrivate: true) : DPoPTestProofs.RsaJwk(_rsa!, includePrivate: true);

        public void Dispose()
        {
            _ec?.Dispose();
            _rsa?.Dispose();
        }
    }
}
