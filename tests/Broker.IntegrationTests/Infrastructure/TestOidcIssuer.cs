using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// A real OIDC issuer on loopback: discovery document and JWKS over HTTP, keys that can rotate,
/// and counters of how often each document was fetched.
/// </summary>
public sealed class TestOidcIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _discoveryFetches;
    private int _jwksFetches;

    private TestOidcIssuer(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
    }

    public string Issuer { get; }

    public List<TestKey> Keys { get; } = [TestKey.CreateRs256(), TestKey.CreateEs256()];

    /// <summary>Where the discovery document says the keys are; tests may point it elsewhere.</summary>
    public string? JwksUriOverride { get; set; }

    public int DiscoveryFetches => Volatile.Read(ref _discoveryFetches);

    public int JwksFetches => Volatile.Read(ref _jwksFetches);

    public static async Task<TestOidcIssuer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        TestOidcIssuer? self = null;
        app.MapGet("/.well-known/openid-configuration", () =>
        {
            Interlocked.Increment(ref self!._discoveryFetches);
            return Results.Text(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["issuer"] = self.Issuer,
                ["jwks_uri"] = self.JwksUriOverride ?? self.Issuer + "/keys",
                ["id_token_signing_alg_values_supported"] = new[] { "RS256", "ES256" },
            }), "application/json");
        });
        app.MapGet("/keys", () =>
        {
            Interlocked.Increment(ref self!._jwksFetches);
            var keys = self.Keys.Select(k => k.PublicJwk.Kty == "EC"
                ? (object)new { kty = "EC", crv = k.PublicJwk.Crv, x = k.PublicJwk.X, y = k.PublicJwk.Y, kid = k.KeyId, use = "sig" }
                : new { kty = "RSA", n = k.PublicJwk.N, e = k.PublicJwk.E, kid = k.KeyId, use = "sig" });
            return Results.Text(JsonSerializer.Serialize(new { keys }), "application/json");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        self = new TestOidcIssuer(app, address.TrimEnd('/'));
        return self;
    }

    /// <summary>A Kubernetes-style projected service-account token.</summary>
    public string ServiceAccountToken(string ns, string name, string audience = BrokerTestHost.Issuer, TimeSpan? lifetime = null, TestKey? key = null, Action<Dictionary<string, object>>? claims = null, string? issuer = null)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new Dictionary<string, object>
        {
            ["iss"] = issuer ?? Issuer,
            ["sub"] = $"system:serviceaccount:{ns}:{name}",
            ["aud"] = new[] { audience },
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.Add(lifetime ?? TimeSpan.FromMinutes(10)).ToUnixTimeSeconds(),
            ["kubernetes.io"] = new Dictionary<string, object>
            {
                ["namespace"] = ns,
                ["serviceaccount"] = new Dictionary<string, object> { ["name"] = name, ["uid"] = Guid.NewGuid().ToString() },
            },
        };
        claims?.Invoke(payload);
        return (key ?? Keys[0]).Sign(payload);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
