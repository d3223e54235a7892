using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing;

namespace Broker.IntegrationTests.Keys;

/// <summary>
/// The real broker process refuses to start with a Redis key ring it cannot protect or read: no key-encryption
/// certificate, or a certificate other than the one the ring was encrypted to. One readable message, no stack trace.
/// </summary>
public sealed class KeyEncryptionStartupTests(RedisServerFixture redis)
{
    [Fact]
    public async Task WrongKeyEncryptionCertificate_StopsTheStart_NamingBothCertificates()
    {
        // Arrange: a ring created under one certificate (by an in-process replica), then another certificate.
        await using var replicas = await KeyRingReplicas.StartAsync(redis.Configuration, second: false);
        var other = KeyRingReplicas.WriteCertificate(replicas.Fixture.Directory, "other.pfx");
        var before = replicas.RingA.Version;

        // Act
        await using var broker = BrokerProcess.Start(replicas.Fixture.Directory.Path, Arguments(replicas, other));
        var exitCode = await broker.WaitForExitAsync();

        // Assert: nothing was written to the ring (no key of the wrong certificate, no new signing key).
        Assert.Equal(2, exitCode);
        Assert.Contains("The broker cannot start: 1 problem.", broker.Output, StringComparison.Ordinal);
        Assert.Contains("The key ring in Redis is encrypted to another certificate", broker.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", broker.Output, StringComparison.Ordinal);
        await replicas.RingA.RefreshAsync(CancellationToken.None);
        Assert.Equal(before, replicas.RingA.Version);
    }

    [Fact]
    public async Task RightCertificate_AsAProcess_StartsAndPublishesTheSameRing()
    {
        await using var replicas = await KeyRingReplicas.StartAsync(redis.Configuration, second: false);
        var port = FreePorts.Next();

        await using var broker = BrokerProcess.Start(replicas.Fixture.Directory.Path, [.. Arguments(replicas, replicas.CertificatePath), $"--urls=http://127.0.0.1:{port}"]);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await broker.WaitUntilReadyAsync(client);

        Assert.Equal(await KeyRingReplicas.JwksKidsAsync(replicas.A), await JwksKidsAsync(client));
    }

    [Fact]
    public async Task RedisKeyRing_WithoutCertificate_OrWithoutRedis_StopsTheStart()
    {
        using var directory = new TempDirectory();
        directory.Write("policy/empty.yaml", "tenant: t\n");

        await using var broker = BrokerProcess.Start(directory.Path,
        [
            "--Broker:Issuer=https://broker.test",
            $"--Broker:Policy:Path={Path.Combine(directory.Path, "policy")}",
            "--Broker:Keys:Store=Redis",
            "--Broker:Keys:JwksMaxAge=12:00:00",
        ]);
        var exitCode = await broker.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        Assert.Contains("Broker:Keys:Encryption:CertificatePath is required with Broker:Keys:Store=Redis", broker.Output, StringComparison.Ordinal);
        Assert.Contains("Broker:Keys:Store=Redis needs Redis", broker.Output, StringComparison.Ordinal);
        Assert.Contains("Broker:Keys:JwksMaxAge must be at most a quarter of Broker:Keys:Rotation:PrePublication", broker.Output, StringComparison.Ordinal);
    }

    private static string[] Arguments(KeyRingReplicas replicas, string certificate) =>
    [
        $"--Broker:Issuer={BrokerTestHost.Issuer}",
        $"--Broker:Policy:Path={Path.Combine(replicas.Fixture.Directory.Path, "policy")}",
        "--Broker:Policy:AllowInsecureLoopbackUrls=true",
        $"--Broker:Redis:Configuration={replicas.Settings["Broker:Redis:Configuration"]}",
        $"--Broker:Redis:KeyPrefix={replicas.Settings["Broker:Redis:KeyPrefix"]}",
        "--Broker:Keys:Store=Redis",
        $"--Broker:Keys:Encryption:CertificatePath={certificate}",
        "--Broker:Keys:JwksMaxAge=00:00:00",
        "--urls=http://127.0.0.1:0",
    ];

    private static async Task<IReadOnlyList<string>> JwksKidsAsync(HttpClient client)
    {
        using var document = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/.well-known/jwks.json"));
        return [.. document.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()!)];
    }
}
