using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// A Kestrel stand-in for the broker's two discovery documents (RFC 8414 metadata and JWKS) whose answers a test
/// changes at will, counting every request: for key rotation and for metadata the real broker never serves.
/// </summary>
public sealed class StandInBroker : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _metadataRequests;
    private int _jwksRequests;

    private StandInBroker(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
        Metadata = () => new { issuer = Issuer, jwks_uri = Issuer + "/.well-known/jwks.json", revocation_events_endpoint = Issuer + StandInRevocationFeed.Path };
    }

    public string Issuer { get; }

    public Uri BaseAddress => new(Issuer + "/");

    /// <summary>The revocation feed this stand-in serves (docs/mcp.md "The revocation feed").</summary>
    public StandInRevocationFeed Feed { get; } = new();

    public int MetadataRequests => Volatile.Read(ref _metadataRequests);

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    /// <summary>The metadata document served; null answers 500.</summary>
    public Func<object?> Metadata { get; set; }

    /// <summary>The keys served in the JWKS.</summary>
    public List<Dictionary<string, string>> Keys { get; } = [];

    /// <summary>When set, the metadata URL answers 302 to this location.</summary>
    public string? RedirectMetadataTo { get; set; }

    public static async Task<StandInBroker> StartAsync()
    {
        var issuer = $"http://127.0.0.1:{TestBroker.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(issuer);
        var app = builder.Build();
        var broker = new StandInBroker(app, issuer);
        app.MapGet("/.well-known/oauth-authorization-server", (HttpContext context) =>
        {
            Interlocked.Increment(ref broker._metadataRequests);
            if (broker.RedirectMetadataTo is { } location)
            {
                return Results.Redirect(location);
            }

            return broker.Metadata() is { } metadata ? Results.Json(metadata) : Results.StatusCode(500);
        });
        app.MapGet("/.well-known/jwks.json", () =>
        {
            Interlocked.Increment(ref broker._jwksRequests);
            return Results.Json(new { keys = broker.Keys });
        });
        broker.Feed.Map(app);
        await app.StartAsync();
        return broker;
    }

    /// <summary>A new EC P-256 key, its public JWK (kid = RFC 7638 thumbprint) published when <paramref name="publish"/>.</summary>
    public (ECDsa Key, string KeyId) NewKey(bool publish = true)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(key));
        var kid = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        if (publish)
        {
            Keys.Add(new Dictionary<string, string> { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = jwk.X, ["y"] = jwk.Y, ["kid"] = kid, ["use"] = "sig" });
        }

        return (key, kid);
    }

    /// <summary>A token as the broker would mint it for <see cref="TestBroker.Resource"/>, signed with <paramref name="key"/>, issued at <paramref name="issuedAt"/> (default now).</summary>
    public string Sign(ECDsa key, string keyId, DateTimeOffset? issuedAt = null)
    {
        var now = issuedAt ?? DateTimeOffset.UtcNow;
        var payload = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = "spiffe://dev.localhost/agents/reader", ["aud"] = TestBroker.Resource,
            ["client_id"] = "spiffe://dev.localhost/agents/reader", ["scope"] = "files.read", ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(), ["nbf"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["tenant"] = TestBroker.Tenant, ["task_id"] = "task-1", ["purpose"] = "tests",
        };
        var credentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }
            .CreateToken(JsonSerializer.Serialize(payload), credentials, new Dictionary<string, object> { ["typ"] = "at+jwt" });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
