using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Broker.Dev;
using Broker.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// The real broker on real Kestrel, in dev mode on a loopback port chosen before start so that its issuer (and so
/// its metadata URLs) name the address it really listens on. It signs with a key from a PEM file the test wrote, so
/// tests can also sign tokens the broker would never mint with the very key an MCP server trusts.
/// </summary>
public sealed class TestBroker : IAsyncDisposable
{
    public const string Tenant = "payments";
    public const string Resource = "https://mcp.test/mcp";
    public const string OtherResource = "https://crm.test/mcp";

    /// <summary>
    /// Tenant "payments" trusts the dev identity source; demo agents read, the writer also writes (possibly for the
    /// orchestrator), and everyone may read the CRM (another resource of the same tenant).
    /// </summary>
    public const string Policy = $$"""
        tenant: {{Tenant}}
        max_lifetime: 15m
        trust:
          spiffe:
            - trust_domain: dev.localhost
              bundle: dev
        capabilities:
          - name: files.read
            resource: {{Resource}}
            tools: [read_file, list_files, whoami]
          - name: files.write
            resource: {{Resource}}
            tools: [write_file, move_file]
          - name: crm.read
            resource: {{OtherResource}}
        rules:
          - name: agents read
            subjects: ["spiffe://dev.localhost/agents/*"]
            capabilities: [files.read, crm.read]
            permissions: [discover, execute]
          - name: the writer writes, possibly for the orchestrator
            subjects: ["spiffe://dev.localhost/agents/writer"]
            capabilities: [files.read, files.write]
            permissions: [discover, execute]
            delegation:
              actors: ["spiffe://dev.localhost/orchestrator"]
              max_depth: 1
        """;

    private readonly WebApplication _app;
    private readonly string _directory;
    private int _metadataFetches;

    private TestBroker(WebApplication app, Uri baseAddress, Uri listenAddress, string directory, ECDsa key)
    {
        _app = app;
        _directory = directory;
        BaseAddress = baseAddress;
        ListenAddress = listenAddress;
        SigningKey = key;
        Client = new HttpClient { BaseAddress = listenAddress };
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(key));
        KeyId = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
    }

    public Uri BaseAddress { get; }

    /// <summary>Where the broker listens: <see cref="BaseAddress"/>, unless it was started behind a relay.</summary>
    public Uri ListenAddress { get; }

    /// <summary>The issuer: the base address without its trailing slash.</summary>
    public string Issuer => BaseAddress.GetLeftPart(UriPartial.Authority);

    public HttpClient Client { get; }

    /// <summary>The broker's (only) signing key, and its RFC 7638 kid.</summary>
    public ECDsa SigningKey { get; }

    public string KeyId { get; }

    /// <summary>How many times the RFC 8414 metadata was fetched.</summary>
    public int MetadataFetches => Volatile.Read(ref _metadataFetches);

    /// <summary>Starts the broker.</summary>
    /// <param name="issuerPort">
    /// The loopback port of the issuer URL (and so of every URL in its metadata), when that is not where the broker
    /// listens: a relay in front of it (<see cref="TcpRelay"/>). Default: the port it listens on.
    /// </param>
    /// <param name="settings">More configuration, e.g. <c>Broker:Revocation:FeedHeartbeat</c>.</param>
    /// <param name="policy">The policy of tenant <see cref="Tenant"/>; default <see cref="Policy"/>.</param>
    public static async Task<TestBroker> StartAsync(int? issuerPort = null, IReadOnlyDictionary<string, string?>? settings = null, string? policy = null)
    {
        var directory = Directory.CreateTempSubdirectory("broker-validation-").FullName;
        Directory.CreateDirectory(Path.Combine(directory, "policy"));
        await File.WriteAllTextAsync(Path.Combine(directory, "policy", "payments.yaml"), policy ?? Policy);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyFile = Path.Combine(directory, "signing-key.pem");
        await File.WriteAllTextAsync(keyFile, key.ExportECPrivateKeyPem());

        var port = FreePorts.Next();
        var listen = $"http://127.0.0.1:{port}";
        var issuer = $"http://127.0.0.1:{issuerPort ?? port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Issuer"] = issuer,
            ["Broker:Policy:Path"] = Path.Combine(directory, "policy"),
            ["Broker:Keys:SigningKeyFiles:0"] = keyFile,
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(listen);
        builder.Services.AddBroker(builder.Configuration);

        // Dev mode (the dev identity source) is never read from configuration; the --dev flag turns it on like this.
        DevMode.Enable(builder.Services);

        var app = builder.Build();
        TestBroker? broker = null;
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/.well-known/oauth-authorization-server") && broker is not null)
            {
                Interlocked.Increment(ref broker._metadataFetches);
            }

            return next(context);
        });
        app.UseBroker();
        app.MapBroker();
        await app.StartAsync();
        broker = new TestBroker(app, new Uri(issuer + "/"), new Uri(listen + "/"), directory, key);
        return broker;
    }

    /// <summary>A JWT-SVID for <paramref name="spiffeId"/> from the dev identity source.</summary>
    public async Task<string> SvidAsync(string spiffeId)
    {
        using var response = await Client.PostAsync($"/dev/svid?spiffe_id={Uri.EscapeDataString(spiffeId)}", null);
        var body = (await response.Content.ReadAsStringAsync()).Trim();
        return response.IsSuccessStatusCode ? body : throw new HttpRequestException($"/dev/svid answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>A capability token from a real RFC 8693 exchange.</summary>
    public async Task<string> ExchangeAsync(
        string scope,
        string agent = "spiffe://dev.localhost/agents/reader",
        string resource = Resource,
        string taskId = "task-1",
        string purpose = "tests",
        string? actor = null)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["subject_token"] = await SvidAsync(agent),
            ["resource"] = resource,
            ["scope"] = scope,
            ["task_id"] = taskId,
            ["purpose"] = purpose,
        };
        if (actor is not null)
        {
            form["actor_token"] = await SvidAsync(actor);
            form["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        }

        using var response = await Client.PostAsync("/oauth2/token", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"The exchange failed: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>
    /// A token signed with <paramref name="key"/> (default: the broker's key, with its kid) over the claims of a
    /// valid token for <see cref="Resource"/>, changed by <paramref name="claims"/> and <paramref name="header"/>.
    /// </summary>
    public string Sign(Action<Dictionary<string, object>>? claims = null, Action<Dictionary<string, object>>? header = null, ECDsa? key = null, string? keyId = null)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = "spiffe://dev.localhost/agents/reader",
            ["aud"] = Resource,
            ["client_id"] = "spiffe://dev.localhost/agents/reader",
            ["scope"] = "files.read",
            ["jti"] = "forged-" + Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["tenant"] = Tenant,
            ["task_id"] = "task-1",
            ["purpose"] = "tests",
        };
        claims?.Invoke(payload);
        var headers = new Dictionary<string, object> { ["typ"] = "at+jwt" };
        header?.Invoke(headers);
        var signingKey = new ECDsaSecurityKey(key ?? SigningKey) { KeyId = keyId ?? (key is null ? KeyId : "another-key") };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(JsonSerializer.Serialize(payload), new SigningCredentials(signingKey, SecurityAlgorithms.EcdsaSha256), headers);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        SigningKey.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the policy watcher may still hold the directory for a moment.
        }
    }
}
