using System.Security.Cryptography;
using System.Text.Json;
using Broker.Testing;
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
    private int _statusListRequests;

    private StandInBroker(WebApplication app, string issuer)
    {
        _app = app;
        Issuer = issuer;
        Metadata = () => new
        {
            issuer = Issuer,
            jwks_uri = Issuer + "/.well-known/jwks.json",
            revocation_events_endpoint = Issuer + StandInRevocationFeed.Path,
            status_list_endpoint = Issuer + StatusListPath,
        };
    }

    /// <summary>Where the stand-in's status lists are (<c>status_list_endpoint</c>).</summary>
    public const string StatusListPath = "/statuslists/v1";

    public string Issuer { get; }

    /// <summary>The URI of the test tenant's status list, as the broker spells it in tokens.</summary>
    public string StatusListUri => Issuer + StatusListPath + "/" + TestBroker.Tenant;

    /// <summary>The answer to <c>GET /statuslists/v1/{tenant}</c> (the tenant as asked); null answers 404.</summary>
    public Func<string, IResult?> StatusList { get; set; } = _ => null;

    public int StatusListRequests => Volatile.Read(ref _statusListRequests);

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
        var issuer = $"http://127.0.0.1:{FreePorts.Next()}";
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
        app.MapGet(StatusListPath + "/{tenant}", (string tenant) =>
        {
            Interlocked.Increment(ref broker._statusListRequests);
            return broker.StatusList(tenant) ?? Results.NotFound();
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
    public string Sign(ECDsa key, string keyId, DateTimeOffset? issuedAt = null, Action<Dictionary<string, object>>? claims = null)
    {
        var now = issuedAt ?? DateTimeOffset.UtcNow;
        var payload = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = "spiffe://dev.localhost/agents/reader", ["aud"] = TestBroker.Resource,
            ["client_id"] = "spiffe://dev.localhost/agents/reader", ["scope"] = "files.read", ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(), ["nbf"] = now.ToUnixTimeSeconds(), ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["tenant"] = TestBroker.Tenant, ["task_id"] = "task-1", ["purpose"] = "tests",
        };
        claims?.Invoke(payload);
        var credentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }
            .CreateToken(JsonSerializer.Serialize(payload), credentials, new Dictionary<string, object> { ["typ"] = "at+jwt" });
    }

    /// <summary>
    /// A Status List Token (draft-ietf-oauth-status-list §5.1) over <paramref name="list"/> as the broker would sign it
    /// for the test tenant, changed by <paramref name="claims"/> and <paramref name="header"/>.
    /// </summary>
    public string SignList(
        ECDsa key, string keyId, byte[] list, Action<Dictionary<string, object>>? claims = null, Action<Dictionary<string, object>>? header = null, int bits = 1)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = StatusListUri, ["iat"] = now, ["exp"] = now + 300, ["ttl"] = 30,
            ["status_list"] = new Dictionary<string, object> { ["bits"] = bits, ["lst"] = Compress(list) },
        };
        claims?.Invoke(payload);
        var headers = new Dictionary<string, object> { ["typ"] = "statuslist+jwt" };
        header?.Invoke(headers);
        var credentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(JsonSerializer.Serialize(payload), credentials, headers);
    }

    /// <summary>§4.1: ZLIB (RFC 1950), base64url.</summary>
    public static string Compress(byte[] list)
    {
        using var output = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(output, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(list);
        }

        return Base64UrlEncoder.Encode(output.ToArray());
    }

    /// <summary>The response the broker sends for a list token.</summary>
    public static IResult ListResponse(string jwt) => Results.Text(jwt, "application/statuslist+jwt");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
