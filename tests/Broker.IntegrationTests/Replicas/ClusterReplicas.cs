using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Keys;
using Broker.IntegrationTests.Redis;
using Broker.Testing;

namespace Broker.IntegrationTests.Replicas;

/// <summary>
/// Two real broker processes (<c>dotnet Broker.dll</c>, as an operator runs them) on loopback ports of their own,
/// sharing a real three-master Redis Cluster for grants, revocations and the key ring, under a key prefix of their own.
/// The policy and trust domains are the exchange fixture's (its in-process host is not one of the replicas).
/// </summary>
public sealed class ClusterReplicas : IAsyncDisposable
{
    private readonly List<BrokerProcess> _processes = [];

    private ClusterReplicas(ExchangeFixture fixture)
    {
        Fixture = fixture;
    }

    public ExchangeFixture Fixture { get; }

    public IReadOnlyList<BrokerProcess> Processes => _processes;

    public List<HttpClient> Clients { get; } = [];

    public static async Task<ClusterReplicas> StartAsync(RedisClusterFixture cluster)
    {
        var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        var replicas = new ClusterReplicas(fixture);
        var certificate = KeyRingReplicas.WriteCertificate(fixture.Directory, "kek.pfx");
        var prefix = RedisServerFixture.NewKeyPrefix();
        for (var i = 0; i < 2; i++)
        {
            var port = FreePorts.Next();
            replicas._processes.Add(BrokerProcess.Start(fixture.Directory.Path,
            [
                $"--urls=http://127.0.0.1:{port}",
                $"--Broker:Issuer={BrokerTestHost.Issuer}",
                $"--Broker:Policy:Path={Path.Combine(fixture.Directory.Path, "policy")}",
                "--Broker:Policy:AllowInsecureLoopbackUrls=true",
                $"--Broker:Redis:Configuration={cluster.Configuration}",
                $"--Broker:Redis:KeyPrefix={prefix}",
                "--Broker:Keys:Store=Redis",
                $"--Broker:Keys:Encryption:CertificatePath={certificate}",
                "--Broker:Keys:JwksMaxAge=00:00:00",
                "--Broker:Keys:Rotation:PollInterval=00:00:00.500",
                $"--Broker:Admin:GlobalAdmins:0={ExchangeFixture.GlobalAdmin}",
                "--Broker:RateLimits:PerIdentity=100000/s",
                "--Broker:RateLimits:FailedAuthentication:Limit=100000",
                "--Logging:LogLevel:Default=Warning",
            ]));
            replicas.Clients.Add(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) });
        }

        await Task.WhenAll(replicas._processes.Select((p, i) => p.WaitUntilReadyAsync(replicas.Clients[i])));
        return replicas;
    }

    /// <summary>Exchanges an agent's SVID on replica <paramref name="replica"/>.</summary>
    public async Task<ExchangeResponse> ExchangeAsync(int replica)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(Fixture.Acme.Svid("/agents/reader")));
        using var response = await Clients[replica].PostAsync("/oauth2/token", content);
        return await ExchangeResponse.ReadAsync(response);
    }

    /// <summary>RFC 7662 introspection on replica <paramref name="replica"/>, as the MCP server of the token.</summary>
    public async Task<bool> IsActiveAsync(int replica, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Fixture.Acme.Svid("/mcp/invoices"));
        using var response = await Clients[replica].SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    /// <summary>An admin request with the global admin's SVID.</summary>
    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body)> AdminAsync(int replica, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Fixture.Acme.Svid("/platform/root"));
        using var response = await Clients[replica].SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.Clone());
    }

    /// <summary>The kids of replica <paramref name="replica"/>'s JWKS.</summary>
    public async Task<IReadOnlyList<string>> JwksKidsAsync(int replica)
    {
        using var document = JsonDocument.Parse(await Clients[replica].GetStringAsync("/.well-known/jwks.json"));
        return [.. document.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in Clients)
        {
            client.Dispose();
        }

        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        await Fixture.DisposeAsync();
    }
}
