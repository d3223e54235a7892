using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Authentication;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Keys;

/// <summary>
/// Two brokers (replica A is the exchange fixture's host, replica B a second host on the same policy) sharing one
/// Redis key ring under a key prefix of their own, its private keys encrypted to a throw-away RSA certificate.
/// </summary>
public sealed class KeyRingReplicas : IAsyncDisposable
{
    private readonly List<BrokerTestHost> _others = [];

    private KeyRingReplicas(ExchangeFixture fixture, Dictionary<string, string?> settings, string certificatePath)
    {
        Fixture = fixture;
        Settings = settings;
        CertificatePath = certificatePath;
    }

    public ExchangeFixture Fixture { get; }

    /// <summary>The settings both replicas run with (Redis, prefix, key ring, certificate, schedule).</summary>
    public Dictionary<string, string?> Settings { get; }

    /// <summary>The key-encryption certificate (PKCS#12, no password).</summary>
    public string CertificatePath { get; }

    public BrokerTestHost A => Fixture.Host;

    public BrokerTestHost B => _others[0];

    internal SharedKeyRing RingA => A.Services.GetRequiredService<SharedKeyRing>();

    internal SharedKeyRing RingB => B.Services.GetRequiredService<SharedKeyRing>();

    /// <summary>Starts replica A and, unless <paramref name="second"/> is false, replica B.</summary>
    public static async Task<KeyRingReplicas> StartAsync(
        string redisConfiguration,
        Action<Dictionary<string, string?>>? configure = null,
        Action<IServiceCollection>? services = null,
        bool second = true)
    {
        var fixture = new ExchangeFixture();
        var certificate = WriteCertificate(fixture.Directory, "kek.pfx");
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Redis:Configuration"] = redisConfiguration,
            ["Broker:Redis:KeyPrefix"] = RedisServerFixture.NewKeyPrefix(),
            ["Broker:Keys:Store"] = "Redis",
            ["Broker:Keys:Encryption:CertificatePath"] = certificate,
            ["Broker:Keys:JwksMaxAge"] = "00:00:00",
            ["Broker:Keys:Rotation:Interval"] = "1.00:00:00",
            ["Broker:Keys:Rotation:PrePublication"] = "01:00:00",
            ["Broker:Keys:Rotation:PollInterval"] = "00:00:00.500",
            ["Broker:Keys:Rotation:LeaseDuration"] = "00:00:05",
        };
        configure?.Invoke(settings);
        fixture.Configure = s =>
        {
            foreach (var (name, value) in settings)
            {
                s[name] = value;
            }
        };
        fixture.Services = services;
        await fixture.InitializeAsync();
        var replicas = new KeyRingReplicas(fixture, settings, certificate);
        if (second)
        {
            await replicas.StartAnotherAsync(services: services);
        }

        return replicas;
    }

    /// <summary>Another replica on the same ring; <paramref name="change"/> alters its settings only.</summary>
    public async Task<BrokerTestHost> StartAnotherAsync(Action<Dictionary<string, string?>>? change = null, Action<IServiceCollection>? services = null)
    {
        var host = await StartHostAsync(change, services);
        _others.Add(host);
        return host;
    }

    /// <summary>A host with these settings that the caller owns (for hosts expected not to start).</summary>
    public Task<BrokerTestHost> StartHostAsync(Action<Dictionary<string, string?>>? change = null, Action<IServiceCollection>? services = null) =>
        BrokerTestHost.StartAsync(
            Path.Combine(Fixture.Directory.Path, "policy"),
            s =>
            {
                s.Configure<AdminOptions>(o => o.GlobalAdmins.Add(ExchangeFixture.GlobalAdmin));
                foreach (var (name, value) in Settings)
                {
                    s[name] = value;
                }

                change?.Invoke(s);
            },
            services);

    /// <summary>A self-signed RSA certificate with its key, as a PKCS#12 file without password.</summary>
    public static string WriteCertificate(TempDirectory directory, string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=broker key encryption", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(directory.Path, name);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx));
        return path;
    }

    /// <summary>The <c>kid</c>s of <paramref name="host"/>'s JWKS, in order.</summary>
    public static async Task<IReadOnlyList<string>> JwksKidsAsync(BrokerTestHost host)
    {
        using var document = JsonDocument.Parse(await host.Client.GetStringAsync("/.well-known/jwks.json"));
        return [.. document.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }

    /// <summary>Sends an admin request with the global admin's SVID (or <paramref name="token"/>).</summary>
    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body)> AdminAsync(BrokerTestHost host, HttpMethod method, string path, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Fixture.Acme.Svid("/platform/root"));
        using var response = await host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return (response.StatusCode, document.RootElement.Clone());
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _others)
        {
            await host.DisposeAsync();
        }

        await Fixture.DisposeAsync();
    }
}
