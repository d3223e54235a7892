using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Broker.Jose.DPoP;
using Broker.Testing.Bench;
using Broker.Validation.Revocation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Benchmarks;

/// <summary>
/// What checking one broker token costs a resource server (an MCP server), per request:
/// <c>HttpContext.AuthenticateAsync(scheme)</c> on an in-memory request carrying <c>Authorization: Bearer</c>, inside
/// a started host, with a fresh request scope as Kestrel would give it (no socket on the request path). (1) plain
/// JwtBearer with a static key, as an <c>ECDsaSecurityKey</c> or as the published JWK; (2) and (3) Broker.Validation
/// with 0 and 100,000 revoked grants; (5) Broker.Validation with DPoP-bound tokens (RFC 9449), each request with a
/// fresh proof made in the measured call, and (6) making that proof alone, so (5) − (6) is the server's share. Against
/// that, the introspection alternative: one RFC 7662 round trip per request to a real broker over loopback HTTP.
/// </summary>
/// <remarks>
/// The tokens are broker-shaped ES256 <c>at+jwt</c>s (the claims the broker mints, see README "The capability
/// token"), 64 of them with distinct <c>jti</c>s presented in turn. For the Broker.Validation cases the metadata
/// and JWKS come from a loopback stand-in broker (<see cref="BenchIssuer"/>) once, in the setup: no fetch is in
/// the measured path.
/// </remarks>
public class ValidationBenchmarks
{
    private const string Scheme = "Bench";
    private const string Tenant = "bench";
    private const int TokenCount = 64;
    private const int RevokedCount = 100_000;
    private const int NewKeyCount = 8_192;

    // Where the DPoP requests go (the proofs' htu): the request's scheme, host and path below.
    private static readonly Uri Endpoint = new(BenchTrustDomain.Resource);

    private BenchIssuer? _issuer;
    private IHost? _host;
    private IServiceScopeFactory _scopes = null!;
    private string[] _headers = [];
    private string[] _tokens = [];
    private int _next;
    private ECDsa? _dpopKey;
    private DPoPProofBuilder? _proofs;
    private DPoPProofValidator? _proofValidator;
    private string[] _proofValues = [];

    private IntrospectingClient? _introspection;

    /// <summary>(1) The stock JwtBearer handler with the same validation parameters and a statically configured key.</summary>
    [GlobalSetup(Target = nameof(JwtBearer))]
    public async Task SetupJwtBearerAsync()
    {
        _issuer = await BenchIssuer.StartAsync(serve: false);
        await SetupPlainAsync(new ECDsaSecurityKey(_issuer.Verifier) { KeyId = _issuer.KeyId });
    }

    /// <summary>(1') As (1), with the key given as the JWK the JWKS publishes (what Broker.Validation validates with).</summary>
    [GlobalSetup(Target = nameof(JwtBearerJwk))]
    public async Task SetupJwtBearerJwkAsync()
    {
        _issuer = await BenchIssuer.StartAsync(serve: false);
        await SetupPlainAsync(_issuer.PublicJwk);
    }

    private async Task SetupPlainAsync(SecurityKey key)
    {
        await StartResourceServerAsync(auth => auth.AddJwtBearer(Scheme, o =>
        {
            o.MapInboundClaims = false;
            o.SaveToken = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = _issuer!.Issuer,
                ValidAudience = BenchTrustDomain.Resource,
                ValidTypes = ["at+jwt", "application/at+jwt"],
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                IssuerSigningKey = key,
                RequireSignedTokens = true,
                RequireExpirationTime = true,
                RequireAudience = true,
                ClockSkew = TimeSpan.FromSeconds(30),
                TryAllIssuerSigningKeys = false,
                NameClaimType = "sub",
            };
        }));
    }

    /// <summary>(2) Broker.Validation with nothing revoked.</summary>
    [GlobalSetup(Target = nameof(BrokerTokens))]
    public Task SetupBrokerTokensAsync() => SetupBrokerAsync(revoked: 0);

    /// <summary>(3) Broker.Validation with 100,000 revoked grants (none of them the presented tokens').</summary>
    [GlobalSetup(Target = nameof(BrokerTokensRevoked100k))]
    public Task SetupBrokerTokensRevokedAsync() => SetupBrokerAsync(RevokedCount);

    /// <summary>(5) Broker.Validation, nothing revoked, DPoP-bound tokens with a fresh proof per request.</summary>
    [GlobalSetup(Target = nameof(BrokerTokensDPoP))]
    public Task SetupBrokerTokensDPoPAsync() => SetupBrokerAsync(revoked: 0, dpop: true);

    /// <summary>(6) What (5) spends making each proof (the client's work): subtracted from (5) for the server's share.</summary>
    [GlobalSetup(Target = nameof(DPoPProofCreation))]
    public void SetupDPoPProofCreation()
    {
        _dpopKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _proofs = new DPoPProofBuilder(_dpopKey);
        _tokens = [.. Enumerable.Range(0, TokenCount).Select(i => "header.payload-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".signature")];
    }

    /// <summary>
    /// (7) Broker.Jose's <c>DPoPProofValidator</c> alone on one ready-made proof, the replay cache replaced by one that
    /// records nothing (so the same proof passes again) and a 10-minute <c>iat</c> window (so it stays fresh): the
    /// proof checks of (5) without the cache insert, for attribution.
    /// </summary>
    [GlobalSetup(Target = nameof(DPoPProofValidation))]
    public void SetupDPoPProofValidation()
    {
        SetupDPoPProofCreation();
        _proofValidator = new DPoPProofValidator(new DPoPProofValidatorOptions { MaxAge = TimeSpan.FromMinutes(10) }, new ForgetfulReplayCache(), TimeProvider.System);
        _proofValues = [.. _tokens.Select(t => _proofs!.CreateProof("POST", Endpoint, t))];
    }

    /// <summary>
    /// (8) As (7), but every proof by a key of its own (8,192 keys presented in turn, eight times the validator's
    /// verifier cache): the cost of a proof key seen for the first time, as for a flood of attacker-chosen keys.
    /// </summary>
    [GlobalSetup(Target = nameof(DPoPProofValidationNewKeys))]
    public void SetupDPoPProofValidationNewKeys()
    {
        SetupDPoPProofValidation();
        _proofValues = [.. Enumerable.Range(0, NewKeyCount).Select(i =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return new DPoPProofBuilder(key).CreateProof("POST", Endpoint, _tokens[i & (TokenCount - 1)]);
        })];
    }

    /// <summary>(4) A real broker on Kestrel, asked per request over loopback HTTP/1.1 (RFC 7662).</summary>
    [GlobalSetup(Target = nameof(Introspection))]
    public async Task SetupIntrospectionAsync()
    {
        _introspection = await IntrospectingClient.StartAsync();
        await Introspection();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        if (_issuer is not null)
        {
            await _issuer.DisposeAsync();
        }

        if (_introspection is not null)
        {
            await _introspection.DisposeAsync();
        }

        _dpopKey?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<bool> JwtBearer() => AuthenticateAsync();

    [Benchmark]
    public Task<bool> JwtBearerJwk() => AuthenticateAsync();

    [Benchmark]
    public Task<bool> BrokerTokens() => AuthenticateAsync();

    [Benchmark]
    public Task<bool> BrokerTokensRevoked100k() => AuthenticateAsync();

    [Benchmark]
    public Task<bool> BrokerTokensDPoP() => AuthenticateAsync();

    [Benchmark]
    public string DPoPProofCreation() => _proofs!.CreateProof("POST", Endpoint, _tokens[_next++ & (TokenCount - 1)]);

    [Benchmark]
    public async Task<bool> DPoPProofValidation()
    {
        var index = _next++ & (TokenCount - 1);
        return await _proofValidator!.ValidateAsync([_proofValues[index]], "POST", Endpoint.AbsoluteUri, _tokens[index]) is DPoPProofResult.Valid
            ? true
            : throw new InvalidOperationException("A bench proof was refused.");
    }

    [Benchmark]
    public async Task<bool> DPoPProofValidationNewKeys()
    {
        var index = _next++ & (NewKeyCount - 1);
        return await _proofValidator!.ValidateAsync([_proofValues[index]], "POST", Endpoint.AbsoluteUri, _tokens[index & (TokenCount - 1)]) is DPoPProofResult.Valid
            ? true
            : throw new InvalidOperationException("A bench proof was refused.");
    }

    [Benchmark]
    public async Task<bool> Introspection() =>
        await _introspection!.IntrospectAsync() ? true : throw new InvalidOperationException("The broker reported the bench token inactive.");

    private async Task<bool> AuthenticateAsync()
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var index = _next++ & (TokenCount - 1);
        context.Request.Headers.Authorization = _headers[index];
        if (_proofs is not null)
        {
            // RFC 9449 §7.1: a POST to the MCP endpoint with a proof of it, made now (a proof is accepted once).
            context.Request.Method = "POST";
            context.Request.Scheme = Endpoint.Scheme;
            context.Request.Host = new HostString(Endpoint.Authority);
            context.Request.Path = Endpoint.AbsolutePath;
            context.Request.Headers[DPoPConstants.HeaderName] = _proofs.CreateProof("POST", Endpoint, _tokens[index]);
        }

        var result = await context.AuthenticateAsync(Scheme);

        // A refused token would measure the failure path: stop the run instead.
        return result.Succeeded ? true : throw new InvalidOperationException("A bench token was refused.", result.Failure);
    }

    private async Task SetupBrokerAsync(int revoked, bool dpop = false)
    {
        _issuer = await BenchIssuer.StartAsync(serve: true);
        if (dpop)
        {
            _dpopKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            _proofs = new DPoPProofBuilder(_dpopKey);
        }

        await StartResourceServerAsync(auth => auth.AddBrokerTokens(Scheme, o =>
        {
            o.Broker = new Uri(_issuer.Issuer);
            o.AllowInsecureLoopbackBroker = true;
            o.Resource = BenchTrustDomain.Resource;
            o.Tenant = Tenant;
        }));

        var set = _host!.Services.GetRequiredService<RevokedGrantSet>();
        var keepUntil = DateTimeOffset.UtcNow.AddHours(2);
        for (var i = 0; i < revoked; i++)
        {
            if (!set.Add("revoked-" + i.ToString("D8", System.Globalization.CultureInfo.InvariantCulture), keepUntil))
            {
                throw new InvalidOperationException("The revoked set refused an entry.");
            }
        }

        if (set.Count != revoked)
        {
            throw new InvalidOperationException($"The revoked set holds {set.Count} entries, not {revoked}.");
        }
    }

    private async Task StartResourceServerAsync(Action<AuthenticationBuilder> scheme)
    {
        // No logging provider, as in the other benchmarks: log calls cost what a filtered-out level costs.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();

        // Room for every proof of a run within the replay window (thousands a second for 71 s), so a full cache
        // never fails the run; the default holds 100,000.
        builder.Services.AddSingleton<IDPoPReplayCache>(new InMemoryDPoPReplayCache(TimeProvider.System, capacity: 4_000_000));
        scheme(builder.Services.AddAuthentication());
        _host = builder.Build();
        await _host.StartAsync();
        _scopes = _host.Services.GetRequiredService<IServiceScopeFactory>();

        var now = DateTimeOffset.UtcNow;
        _tokens = [.. Enumerable.Range(0, TokenCount).Select(_ => _issuer!.Sign(now, _proofs?.Thumbprint))];
        _headers = [.. _tokens.Select(t => (_proofs is null ? "Bearer " : "DPoP ") + t)];

        // Every token once: the first one fetches the metadata and JWKS (Broker.Validation), so no fetch is measured.
        for (var i = 0; i < TokenCount; i++)
        {
            await AuthenticateAsync();
        }

        var fetches = _issuer!.Requests;
        await AuthenticateAsync();
        if (_issuer.Requests != fetches)
        {
            throw new InvalidOperationException("A validation fetched from the stand-in broker after warm-up.");
        }
    }

    /// <summary>Records nothing: every proof is new to it. For (7) only, where the same proofs are checked again and again.</summary>
    private sealed class ForgetfulReplayCache : IDPoPReplayCache
    {
        public ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken) => ValueTask.FromResult(true);
    }

    /// <summary>
    /// The broker's two discovery documents (RFC 8414 metadata, JWKS) on a loopback Kestrel, as
    /// tests/Broker.Validation.Tests' StandInBroker serves them, and the key that signs broker-shaped tokens.
    /// </summary>
    private sealed class BenchIssuer : IAsyncDisposable
    {
        private readonly WebApplication? _app;
        private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        private int _requests;

        private BenchIssuer(WebApplication? app, string issuer)
        {
            _app = app;
            Issuer = issuer;
            var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(_key));
            KeyId = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
            Jwks = new { keys = new[] { new { kty = "EC", crv = "P-256", x = jwk.X, y = jwk.Y, kid = KeyId, use = "sig" } } };
            PublicJwk = new JsonWebKey { Kty = "EC", Crv = "P-256", X = jwk.X, Y = jwk.Y, Kid = KeyId, Use = "sig" };
            Verifier = ECDsa.Create(_key.ExportParameters(includePrivateParameters: false));
        }

        public string Issuer { get; private set; }

        public string KeyId { get; }

        public ECDsa Verifier { get; }

        /// <summary>The public key as the JWKS publishes it.</summary>
        public JsonWebKey PublicJwk { get; }

        public int Requests => Volatile.Read(ref _requests);

        private object Jwks { get; }

        /// <summary>With <paramref name="serve"/> false, nothing listens and the issuer is only a name (plain JwtBearer).</summary>
        public static async Task<BenchIssuer> StartAsync(bool serve)
        {
            if (!serve)
            {
                return new BenchIssuer(null, "http://127.0.0.1:1");
            }

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var issuer = new BenchIssuer(app, string.Empty);
            app.MapGet("/.well-known/oauth-authorization-server", () =>
            {
                Interlocked.Increment(ref issuer._requests);
                return Results.Json(new { issuer = issuer.Issuer, jwks_uri = issuer.Issuer + "/.well-known/jwks.json" });
            });
            app.MapGet("/.well-known/jwks.json", () =>
            {
                Interlocked.Increment(ref issuer._requests);
                return Results.Json(issuer.Jwks);
            });
            await app.StartAsync();
            issuer.Issuer = app.Urls.Single().TrimEnd('/');
            return issuer;
        }

        /// <summary>
        /// A capability token as the broker mints it (README "The capability token"), valid for two hours; bound to the
        /// DPoP key <paramref name="jkt"/> when given (<c>cnf.jkt</c>, RFC 9449 §6.1).
        /// </summary>
        public string Sign(DateTimeOffset now, string? jkt = null)
        {
            var payload = new Dictionary<string, object>
            {
                ["iss"] = Issuer,
                ["sub"] = BenchTrustDomain.AgentId(1),
                ["aud"] = BenchTrustDomain.Resource,
                ["client_id"] = BenchTrustDomain.AgentId(1),
                ["scope"] = BenchTrustDomain.Scope,
                ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                ["iat"] = now.ToUnixTimeSeconds(),
                ["exp"] = now.AddHours(2).ToUnixTimeSeconds(),
                ["tenant"] = Tenant,
                ["task_id"] = BenchTrustDomain.TaskId,
                ["purpose"] = BenchTrustDomain.Purpose,
            };
            if (jkt is not null)
            {
                payload["cnf"] = new Dictionary<string, string> { ["jkt"] = jkt };
            }

            var credentials = new SigningCredentials(new ECDsaSecurityKey(_key) { KeyId = KeyId }, SecurityAlgorithms.EcdsaSha256);
            return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }
                .CreateToken(JsonSerializer.Serialize(payload), credentials, new Dictionary<string, object> { ["typ"] = "at+jwt" });
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }

            _key.Dispose();
            Verifier.Dispose();
        }
    }

    /// <summary>
    /// The introspection alternative: the real broker (<c>AddBroker</c>, <c>UseBroker</c>, <c>MapBroker</c>) on a
    /// loopback Kestrel, a capability token it minted through a real exchange, and a resource server's client that
    /// asks <c>POST /oauth2/introspect</c> about it, authenticated with its own JWT-SVID (kept-alive HTTP/1.1).
    /// </summary>
    private sealed class IntrospectingClient : IAsyncDisposable
    {
        private readonly WebApplication _broker;
        private readonly BenchTrustDomain _trustDomain;
        private readonly string _directory;
        private readonly HttpClient _client;
        private readonly byte[] _body;

        private IntrospectingClient(WebApplication broker, BenchTrustDomain trustDomain, string directory, HttpClient client, byte[] body)
        {
            _broker = broker;
            _trustDomain = trustDomain;
            _directory = directory;
            _client = client;
            _body = body;
        }

        public static async Task<IntrospectingClient> StartAsync()
        {
            var directory = Directory.CreateTempSubdirectory("broker-bench-").FullName;
            var trustDomain = new BenchTrustDomain();
            trustDomain.WritePolicyDirectory(directory);

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Broker:Issuer"] = BenchTrustDomain.Issuer,
                ["Broker:Policy:Path"] = directory,
                ["Broker:Policy:Watch"] = "false",
                ["Broker:Keys:AllowEphemeralKey"] = "true",
                ["Broker:RateLimits:PerIdentity"] = "off",
            });
            builder.Services.AddBroker(builder.Configuration);
            var broker = builder.Build();
            broker.UseBroker();
            broker.MapBroker();
            await broker.StartAsync();

            var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            {
                BaseAddress = new Uri(broker.Urls.Single()),
            };

            // The agent's capability token, from a real exchange; the resource server's own identity for the calls.
            var now = DateTimeOffset.UtcNow;
            using var exchange = await client.PostAsync(
                new Uri("/oauth2/token", UriKind.Relative),
                new StringContent(LoadTokens.FormBody(trustDomain.MintSvid(BenchTrustDomain.AgentId(1), now, TimeSpan.FromHours(2))), System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
            var json = await exchange.Content.ReadAsStringAsync();
            if (!exchange.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"The bench exchange answered {(int)exchange.StatusCode}: {json}");
            }

            using var answer = JsonDocument.Parse(json);
            var token = answer.RootElement.GetProperty("access_token").GetString()!;
            var server = trustDomain.MintSvid(LoadTokens.Introspector, now, TimeSpan.FromHours(2));
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server);

            var body = System.Text.Encoding.ASCII.GetBytes("token=" + Uri.EscapeDataString(token));
            return new IntrospectingClient(broker, trustDomain, directory, client, body);
        }

        /// <summary>One introspection; true when the broker reports the token active.</summary>
        public async Task<bool> IntrospectAsync()
        {
            using var content = new ByteArrayContent(_body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            using var response = await _client.PostAsync(IntrospectUri, content);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Introspection answered {(int)response.StatusCode}.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync();
            using var document = await JsonDocument.ParseAsync(stream);
            return document.RootElement.GetProperty("active").GetBoolean();
        }

        private static readonly Uri IntrospectUri = new("/oauth2/introspect", UriKind.Relative);

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _broker.StopAsync();
            await _broker.DisposeAsync();
            _trustDomain.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
