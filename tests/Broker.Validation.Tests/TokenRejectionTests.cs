using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Tests;

/// <summary>Every way a presented token can be wrong ends in 401 with the RFC 9728 challenge, and no tool runs.</summary>
[Collection(BrokerTests.Name)]
public sealed class TokenRejectionTests(BrokerFixture fixture)
{
    private const string ResourceMetadata = "https://mcp.test/.well-known/oauth-protected-resource/mcp";

    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task NoToken_401WithResourceMetadataAndNoError()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"));

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{ResourceMetadata}\"", Rpc.Challenge(response));
        Assert.Equal(0, server.ToolRuns.Count);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer   ")]
    public async Task NoBearerToken_401WithoutError(string authorization)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), headers: new Dictionary<string, string[]> { ["Authorization"] = [authorization] });

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{ResourceMetadata}\"", Rpc.Challenge(response));
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "wrong audience", "The token was not issued for this resource." },
        { "wrong tenant", "The token was issued for another tenant." },
        { "wrong issuer", "The token was not issued by the trusted broker." },
        { "expired", "The token has expired." },
        { "not yet valid", "The token is not valid yet." },
        { "typ JWT", "The token is not an access token (typ at+jwt)." },
        { "typ JWT-SVID style", "The token is not an access token (typ at+jwt)." },
        { "alg none", "The token's signing algorithm is not accepted." },
        { "alg HS256 keyed with the public key", "The token's signing algorithm is not accepted." },
        { "alg ES384", "The token's signing algorithm is not accepted." },
        { "unknown kid", "The token's signing key is unknown." },
        { "no kid", "The token's signing key is unknown." },
        { "known kid, other key", "The token's signature is not valid." },
        { "tampered payload", "The token's signature is not valid." },
        { "tampered header", "The token's signature is not valid." },
        { "missing task_id", "The token lacks required claims." },
        { "missing jti", "The token lacks required claims." },
        { "scope as array", "The token lacks required claims." },
        { "act without sub", "The token lacks required claims." },
        { "cnf jkt (DPoP) presented as a bearer token", "The token is DPoP-bound: present it with the DPoP scheme and a proof." },
        { "cnf with jkt and x5t#S256", "The token is bound by a method this resource does not support." },
        { "cnf jkt not a string", "The token is bound by a method this resource does not support." },
        { "cnf x5t#S256 without a certificate", "The token is bound to a client certificate that was not presented." },
        { "garbage", "The token is malformed." },
        { "two segments", "The token is malformed." },
        { "too long", "The token is too long." },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task BadToken_401InvalidToken(string kind, string description)
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await MakeAsync(kind);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{ResourceMetadata}\", error=\"invalid_token\", error_description=\"{description}\"", Rpc.Challenge(response));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.DoesNotContain(token, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, server.ToolRuns.Count);
        Assert.Empty(server.Logs.WithEvent("McpToolCall"));
        McpToolCallTests.AssertNoTokenLogged(server, token);
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_401()
    {
        // Arrange
        await using var server = await TestMcpServer.StartAsync(Broker);
        var token = await Broker.ExchangeAsync("files.read");

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), headers: new Dictionary<string, string[]> { ["Authorization"] = ["Bearer " + token, "Bearer " + token] });

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, server.ToolRuns.Count);
    }

    private async Task<string> MakeAsync(string kind)
    {
        var now = DateTimeOffset.UtcNow;
        switch (kind)
        {
            case "wrong audience":
                return await Broker.ExchangeAsync("crm.read", resource: TestBroker.OtherResource);
            case "wrong tenant":
                return Broker.Sign(c => c["tenant"] = "other");
            case "wrong issuer":
                return Broker.Sign(c => c["iss"] = "https://broker.evil.example");
            case "expired":
                return Broker.Sign(c =>
                {
                    c["iat"] = c["nbf"] = now.AddMinutes(-20).ToUnixTimeSeconds();
                    c["exp"] = now.AddMinutes(-10).ToUnixTimeSeconds();
                });
            case "not yet valid":
                return Broker.Sign(c => c["nbf"] = now.AddMinutes(10).ToUnixTimeSeconds());
            case "typ JWT":
                return Broker.Sign(header: h => h["typ"] = "JWT");
            case "typ JWT-SVID style":
                return Broker.Sign(header: h => h["typ"] = "JOSE");
            case "alg none":
                return Compose(new { alg = "none", typ = "at+jwt", kid = Broker.KeyId }, ValidClaims(), []);
            case "alg HS256 keyed with the public key":
            {
                // The classic confusion: HMAC keyed with bytes of the public key the verifier holds.
                var publicKey = Broker.SigningKey.ExportSubjectPublicKeyInfo();
                var unsigned = Encode(new { alg = "HS256", typ = "at+jwt", kid = Broker.KeyId }) + "." + Encode(ValidClaims());
                return unsigned + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(publicKey, Encoding.ASCII.GetBytes(unsigned)));
            }

            case "alg ES384":
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
                var unsigned = Encode(new { alg = "ES384", typ = "at+jwt", kid = Broker.KeyId }) + "." + Encode(ValidClaims());
                return unsigned + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(unsigned), HashAlgorithmName.SHA384));
            }

            case "unknown kid":
            {
                using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                return Broker.Sign(key: other, keyId: "unknown-kid");
            }

            case "no kid":
            {
                var unsigned = Encode(new { alg = "ES256", typ = "at+jwt" }) + "." + Encode(ValidClaims());
                return unsigned + "." + Base64UrlEncoder.Encode(Broker.SigningKey.SignData(Encoding.ASCII.GetBytes(unsigned), HashAlgorithmName.SHA256));
            }

            case "known kid, other key":
            {
                using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                return Broker.Sign(key: other, keyId: Broker.KeyId);
            }

            case "tampered payload":
            {
                var parts = (await Broker.ExchangeAsync("files.read")).Split('.');
                var claims = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.Decode(parts[1]))!;
                claims["scope"] = JsonSerializer.SerializeToElement("files.read files.write");
                return parts[0] + "." + Encode(claims) + "." + parts[2];
            }

            case "tampered header":
            {
                var parts = (await Broker.ExchangeAsync("files.read")).Split('.');
                return Encode(new { alg = "ES256", typ = "at+jwt", kid = Broker.KeyId, x = 1 }) + "." + parts[1] + "." + parts[2];
            }

            case "missing task_id":
                return Broker.Sign(c => c.Remove("task_id"));
            case "missing jti":
                return Broker.Sign(c => c.Remove("jti"));
            case "scope as array":
                return Broker.Sign(c => c["scope"] = new[] { "files.read" });
            case "act without sub":
                return Broker.Sign(c => c["act"] = new { client_id = "x" });
            case "cnf jkt (DPoP) presented as a bearer token":
                return Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["jkt"] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" });
            case "cnf with jkt and x5t#S256":
                return Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["jkt"] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", ["x5t#S256"] = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" });
            case "cnf jkt not a string":
                return Broker.Sign(c => c["cnf"] = new Dictionary<string, object> { ["jkt"] = 42 });
            case "cnf x5t#S256 without a certificate":
                return Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["x5t#S256"] = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" });
            case "garbage":
                return "not-a-token";
            case "two segments":
                return Encode(new { alg = "ES256", typ = "at+jwt", kid = Broker.KeyId }) + "." + Encode(ValidClaims());
            case "too long":
                return Broker.Sign(c => c["purpose"] = new string('p', 9000));
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    private Dictionary<string, object> ValidClaims()
    {
        var now = DateTimeOffset.UtcNow;
        return new Dictionary<string, object>
        {
            ["iss"] = Broker.Issuer, ["sub"] = "spiffe://dev.localhost/agents/reader", ["aud"] = TestBroker.Resource,
            ["client_id"] = "spiffe://dev.localhost/agents/reader", ["scope"] = "files.read", ["jti"] = "forged",
            ["iat"] = now.ToUnixTimeSeconds(), ["nbf"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["tenant"] = TestBroker.Tenant, ["task_id"] = "task-1", ["purpose"] = "tests",
        };
    }

    private static string Encode(object value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));

    private static string Compose(object header, object claims, byte[] signature) =>
        Encode(header) + "." + Encode(claims) + "." + Base64UrlEncoder.Encode(signature);
}
