using System.Security.Cryptography;
using System.Text.Json;
using Broker.Keys;
using Broker.Policy;
using Broker.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.Tokens;

/// <summary>
/// The minted token: RFC 9068 header and claims written as the request says, signed by the ring's active key (and
/// verifiable with it only), and request input that could break out of a JSON string stays inside it.
/// </summary>
public sealed class CapabilityTokenIssuerTests : IDisposable
{
    private const string Issuer = "https://broker.example.test";

    private static readonly DateTimeOffset IssuedAt = new(2026, 12, 2, 7, 0, 0, TimeSpan.Zero);

    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SigningKey _key;
    private readonly CapabilityTokenIssuer _issuer;

    public CapabilityTokenIssuerTests()
    {
        _key = SigningKey.FromECDsa(_ecdsa);
        _issuer = new CapabilityTokenIssuer(new KeyRing([_key]), Options.Create(new BrokerOptions { Issuer = Issuer }));
    }

    public void Dispose() => _ecdsa.Dispose();

    private static CapabilityTokenRequest Request() => new(
        GrantId: "g-0001",
        Subject: "spiffe://example.org/agent",
        ClientId: "spiffe://example.org/agent",
        Audience: "https://mcp.example.test/mcp",
        Capabilities: ["files.read", "tickets.read"],
        Tenant: "acme",
        TaskId: "task-1",
        Purpose: "triage",
        ActorChain: [],
        IssuedAt: IssuedAt,
        ExpiresAt: IssuedAt.AddMinutes(5));

    [Fact]
    public async Task Issue_TokenVerifiesWithTheActiveKey_AndCarriesTheRequest()
    {
        // Act
        var token = _issuer.Issue(Request());

        // Assert: the header.
        var jwt = new JsonWebToken(token);
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal(_key.KeyId, jwt.Kid);

        // The signature, with the ring's key and nothing else.
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(_key.Key));
        Assert.True(result.IsValid, result.Exception?.Message);

        // The claims, in the fixed order the issuer writes them.
        using var payload = Payload(token);
        Assert.Equal(
            ["iss", "sub", "aud", "client_id", "scope", "jti", "iat", "nbf", "exp", "tenant", "task_id", "purpose", "caller"],
            payload.RootElement.EnumerateObject().Select(p => p.Name));
        var claims = payload.RootElement;
        Assert.Equal(Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal("https://mcp.example.test/mcp", claims.GetProperty("aud").GetString());
        Assert.Equal("files.read tickets.read", claims.GetProperty("scope").GetString());
        Assert.Equal("g-0001", claims.GetProperty("jti").GetString());
        Assert.Equal(IssuedAt.ToUnixTimeSeconds(), claims.GetProperty("iat").GetInt64());
        Assert.Equal(IssuedAt.ToUnixTimeSeconds(), claims.GetProperty("nbf").GetInt64());
        Assert.Equal(IssuedAt.AddMinutes(5).ToUnixTimeSeconds(), claims.GetProperty("exp").GetInt64());
        Assert.Equal(("acme", "task-1", "triage"), (claims.GetProperty("tenant").GetString(), claims.GetProperty("task_id").GetString(), claims.GetProperty("purpose").GetString()));
        Assert.Equal(CallerKinds.Workload.ToString(), claims.GetProperty("caller").GetString());
    }

    [Fact]
    public async Task Issue_TokenDoesNotVerifyWithAnotherKey()
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(_issuer.Issue(Request()), Parameters(new ECDsaSecurityKey(other) { KeyId = _key.KeyId }));

        Assert.False(result.IsValid);
    }

    [Fact]
    public void Issue_ActorChain_NestsTheEarlierActorsInsideTheCurrentOne()
    {
        // RFC 8693 §4.1: the outermost act is the current actor.
        var token = _issuer.Issue(Request() with { ActorChain = ["spiffe://example.org/current", "spiffe://example.org/earlier"] });

        using var payload = Payload(token);
        var act = payload.RootElement.GetProperty("act");
        Assert.Equal("spiffe://example.org/current", act.GetProperty("sub").GetString());
        Assert.Equal("spiffe://example.org/earlier", act.GetProperty("act").GetProperty("sub").GetString());
        Assert.False(act.GetProperty("act").TryGetProperty("act", out _));
    }

    [Fact]
    public void Issue_Confirmations_AndStatus_AreWrittenOnlyWhenGiven()
    {
        using var plain = Payload(_issuer.Issue(Request()));
        Assert.False(plain.RootElement.TryGetProperty("cnf", out _));
        Assert.False(plain.RootElement.TryGetProperty("status", out _));
        Assert.False(plain.RootElement.TryGetProperty("act", out _));

        using var bound = Payload(_issuer.Issue(Request() with { JwkThumbprint = "jkt-value", Status = new StatusListReference(42, Issuer + "/statuslists/acme") }));
        Assert.Equal("jkt-value", bound.RootElement.GetProperty("cnf").GetProperty("jkt").GetString());
        var list = bound.RootElement.GetProperty("status").GetProperty("status_list");
        Assert.Equal((42, Issuer + "/statuslists/acme"), (list.GetProperty("idx").GetInt32(), list.GetProperty("uri").GetString()));

        using var certificate = Payload(_issuer.Issue(Request() with { X509Thumbprint = "x5t-value" }));
        Assert.Equal("x5t-value", certificate.RootElement.GetProperty("cnf").GetProperty("x5t#S256").GetString());
    }

    [Fact]
    public void Issue_HostileStrings_StayInsideTheirClaims()
    {
        // A purpose or subject that tries to close the string and add a claim (or smuggle control characters) must
        // come back unchanged as the one claim's value, and add nothing.
        var hostile = "x\",\"tenant\":\"other\",\"scope\":\"admin\u0000\n";

        using var payload = Payload(_issuer.Issue(Request() with { Purpose = hostile, Subject = hostile }));

        Assert.Equal(hostile, payload.RootElement.GetProperty("purpose").GetString());
        Assert.Equal(hostile, payload.RootElement.GetProperty("sub").GetString());
        Assert.Equal("acme", payload.RootElement.GetProperty("tenant").GetString());
        Assert.Equal(1, payload.RootElement.EnumerateObject().Count(p => p.Name == "tenant"));
    }

    [Fact]
    public void Issue_NullRequest_Throws() =>
        Assert.Throws<ArgumentNullException>(() => _issuer.Issue(null!));

    private static TokenValidationParameters Parameters(SecurityKey key) => new()
    {
        IssuerSigningKey = key,
        ValidIssuer = Issuer,
        ValidAudience = "https://mcp.example.test/mcp",
        ValidTypes = ["at+jwt"],

        // The token's times are fixed in the past; lifetime is the verifier's concern, not the issuer's.
        ValidateLifetime = false,
    };

    private static JsonDocument Payload(string token) =>
        JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1]));
}
