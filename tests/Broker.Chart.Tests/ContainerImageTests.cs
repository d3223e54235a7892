using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Chart.Tests.Infrastructure;
using Broker.Testing;
using Broker.Testing.Redis;

namespace Broker.Chart.Tests;

/// <summary>
/// The container image as far as it can be checked without pulling its base image (src/Broker/README.md): the
/// configuration MSBuild computes for it, and the published broker run as the image and the chart would run it,
/// with exactly the chart's environment, as the image's user, from a directory it cannot write to, its policy and
/// keys laid out as the kubelet lays out volumes; the probes answer, and policy updates the kubelet's way or
/// git-sync's way are picked up by the broker's watcher.
/// </summary>
public sealed partial class ContainerImageTests(ChartRenderer renderer, PublishedBroker published) : IClassFixture<PublishedBroker>
{
    private const string Capability = """
          - name: invoices.pay
            resource: https://mcp.payments.example.org/mcp
            tools: [pay_invoice]
        """;

    [Fact]
    public async Task ContainerConfiguration_IsChiseledNonRootOn8080_AndTheChartAgrees()
    {
        // Act
        var result = await ChartRenderer.RunAsync(
            "dotnet",
            Repository.Root,
            new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
            "msbuild", Path.Combine(Repository.Root, "src", "Broker", "Broker.csproj"), "-nologo", "-nodeReuse:false", "-t:ComputeContainerConfig",
            "-getProperty:ContainerBaseImage", "-getProperty:ContainerUser", "-getProperty:ContainerWorkingDirectory", "-getItem:ContainerPort", "-getItem:ContainerAppCommand");
        var chart = await renderer.RenderAsync(Repository.ValuesFile("required.yaml"));

        // Assert
        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        var configuration = JsonNode.Parse(result.StandardOutput)!;
        var properties = configuration["Properties"]!;
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", properties["ContainerBaseImage"]!.GetValue<string>());
        Assert.Equal("1654", properties["ContainerUser"]!.GetValue<string>());
        Assert.Equal("/app/", properties["ContainerWorkingDirectory"]!.GetValue<string>());
        var port = Assert.Single(configuration["Items"]!["ContainerPort"]!.AsArray())!;
        Assert.Equal("8080", port["Identity"]!.GetValue<string>());
        Assert.Equal(["dotnet", "/app/Broker.dll"], configuration["Items"]!["ContainerAppCommand"]!.AsArray().Select(c => c!["Identity"]!.GetValue<string>()));

        // The chart runs the image as its own user, on its own port.
        Assert.Equal(1654, chart.PodSpec["securityContext"]!["runAsUser"]!.GetValue<int>());
        Assert.Equal(1654, chart.PodSpec["securityContext"]!["fsGroup"]!.GetValue<int>());
        Assert.Equal(8080, chart.BrokerContainer["ports"]![0]!["containerPort"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("none")]
    [InlineData("secret")]
    public async Task PublishedBroker_WithTheChartsEnvironment_StartsAsTheImageUserAndPassesItsProbes(string tls)
    {
        // Arrange
        await using var redis = await StartRedisAsync();
        using var certificate = SelfSignedCertificate(out var certificatePem, out var keyPem);
        var port = FreePorts.Next();
        using var values = new TempValues($"containerPort: {port}\ntls: {{mode: {tls}, existingSecret: {(tls == "secret" ? "broker-tls" : "\"\"")}}}\n");
        var chart = await renderer.RenderAsync(Repository.ValuesFile("required.yaml"), values.Path);
        await using var pod = BrokerPod.Prepare(chart, published.App, published.NewPodDirectory(), Secrets(redis, ("tls.crt", certificatePem), ("tls.key", keyPem)));
        pod.ServerCertificate = tls == "secret" ? certificate : null;

        // Act
        await pod.StartAsync();
        using var liveness = await pod.ProbeAsync("livenessProbe");
        using var readiness = await pod.ProbeAsync("readinessProbe");
        var ready = await readiness.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.OK, liveness.StatusCode);
        Assert.True(readiness.StatusCode == HttpStatusCode.OK, ready + "\n" + pod.Output);
        Assert.Contains("noeviction", ready, StringComparison.Ordinal); // the grant store is the chart's Redis, from the Secret
        Assert.Matches(PolicyVersion(), ready);
        Assert.Equal([$"{(tls == "none" ? "http" : "https")}://[::]:{port}"], pod.ListeningOn);
        if (BrokerPod.RunsAsPodUser)
        {
            Assert.Equal(1654u, pod.ProcessUser);
        }

        // Nothing went wrong that the broker would only log: no warning, no error.
        AssertNoWarnings(pod);
        using var client = pod.Client(TimeSpan.FromSeconds(10));
        var jwks = JsonNode.Parse(await client.GetStringAsync(new Uri($"{(tls == "none" ? "http" : "https")}://127.0.0.1:{port}/.well-known/jwks.json")))!;
        Assert.Equal("P-256", Assert.Single(jwks["keys"]!.AsArray())!["crv"]!.GetValue<string>());
    }

    [Fact]
    public async Task PublishedBroker_ConfigMapUpdatedTheKubeletsWay_ReloadsThePolicyEveryTime()
    {
        // Arrange
        await using var redis = await StartRedisAsync();
        using var values = new TempValues($"containerPort: {FreePorts.Next()}\n");
        var chart = await renderer.RenderAsync(Repository.ValuesFile("required.yaml"), values.Path);
        var policy = chart.One("ConfigMap").Document["data"]!["payments.yaml"]!.GetValue<string>();
        await using var pod = BrokerPod.Prepare(chart, published.App, published.NewPodDirectory(), Secrets(redis));
        await pod.StartAsync();
        var first = await PolicyInForceAsync(pod);

        // Act: two updates, as a `helm upgrade` reaches the pod; the second proves the watcher survived the first swap.
        pod.ConfigMap("policy").Write(new Dictionary<string, string> { ["payments.yaml"] = policy.Replace("capabilities:\n", "capabilities:\n" + Capability + "\n", StringComparison.Ordinal) });
        var second = await PolicyChangesFromAsync(pod, first);
        pod.ConfigMap("policy").Write(new Dictionary<string, string> { ["payments.yaml"] = policy, ["more.yaml"] = "tenant: payments\nadmins: [\"reconciler-admin\"]\n" });
        var third = await PolicyChangesFromAsync(pod, second);

        // Assert
        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        AssertNoWarnings(pod);
    }

    [Fact]
    public async Task PublishedBroker_GitSyncLinkSwapped_ReloadsThePolicyEveryTime()
    {
        // Arrange
        await using var redis = await StartRedisAsync();
        using var values = new TempValues($"containerPort: {FreePorts.Next()}\n");
        var chart = await renderer.RenderAsync(Repository.ValuesFile("required.yaml"), Repository.ValuesFile("git-sync.yaml"), values.Path);
        var policy = await File.ReadAllTextAsync(Repository.ValuesFile("required.yaml"));
        policy = PolicyFromValues().Match(policy).Groups["policy"].Value.Replace("\n      ", "\n", StringComparison.Ordinal).TrimStart();
        await using var pod = BrokerPod.Prepare(chart, published.App, published.NewPodDirectory(), Secrets(redis));
        var sidecar = RenderedChart.Container(chart.PodSpec, "git-sync");
        var mount = sidecar["volumeMounts"]!.AsArray().Single(m => m!["name"]!.GetValue<string>() == "policy-git")!["mountPath"]!.GetValue<string>();
        var git = new GitSyncVolume(pod.Volume("policy-git"), mount, RenderedChart.EnvValue(sidecar, "GITSYNC_ROOT")!, RenderedChart.EnvValue(sidecar, "GITSYNC_LINK")!);

        // The init container's one sync, before the broker starts.
        git.Sync("1111111111111111111111111111111111111111", new Dictionary<string, string> { ["payments.yaml"] = policy, ["README.md"] = "policy" });
        await pod.StartAsync();
        var first = await PolicyInForceAsync(pod);

        // Act: two new commits, each published by the sidecar with a link swap.
        git.Sync("2222222222222222222222222222222222222222", new Dictionary<string, string> { ["payments.yaml"] = policy.Replace("capabilities:\n", "capabilities:\n" + Capability + "\n", StringComparison.Ordinal) });
        var second = await PolicyChangesFromAsync(pod, first);
        git.Sync("3333333333333333333333333333333333333333", new Dictionary<string, string> { ["payments.yaml"] = policy, ["tenants/more.yaml"] = "tenant: payments\nadmins: [\"reconciler-admin\"]\n" });
        var third = await PolicyChangesFromAsync(pod, second);

        // Assert
        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        AssertNoWarnings(pod);
    }

    /// <summary>
    /// Fails on any log entry of level warning or above but those of ASP.NET Core's Data Protection, which the
    /// authentication services register and the broker does not use: with no writable home directory (a read-only
    /// root filesystem) it keeps an in-memory key ring and says so at start (events 50, 59 and 35). They go once the
    /// broker gives Data Protection a key repository of its own.
    /// </summary>
    private static void AssertNoWarnings(BrokerPod pod)
    {
        var unexpected = LogLevelWarningOrAbove().Matches(pod.Output)
            .Where(m => !(m.Groups["category"].Value.StartsWith("Microsoft.AspNetCore.DataProtection.", StringComparison.Ordinal) && m.Groups["id"].Value is "35" or "50" or "59"))
            .Select(m => m.Value)
            .ToList();
        Assert.True(unexpected.Count == 0, $"Unexpected warnings ({string.Join(", ", unexpected)}):\n{pod.Output}");
    }

    private static async Task<string> PolicyInForceAsync(BrokerPod pod)
    {
        using var readiness = await pod.ProbeAsync("readinessProbe");
        var body = await readiness.Content.ReadAsStringAsync();
        Assert.True(readiness.StatusCode == HttpStatusCode.OK, body + "\n" + pod.Output);
        return PolicyVersion().Match(body).Value;
    }

    /// <summary>Polls readiness until it reports a policy other than <paramref name="previous"/>; the broker stays ready throughout.</summary>
    private static async Task<string> PolicyChangesFromAsync(BrokerPod pod, string previous)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var current = await PolicyInForceAsync(pod);
            if (current != previous)
            {
                return current;
            }

            Assert.True(DateTime.UtcNow < deadline, "The broker did not reload the updated policy: " + pod.Output);
            await Task.Delay(100);
        }
    }

    private static async Task<RedisProcess> StartRedisAsync()
    {
        var directory = Directory.CreateTempSubdirectory("broker-chart-redis-").FullName;
        var redis = new RedisProcess(directory, FreePorts.Next(), ["--maxmemory-policy", "noeviction"]);
        await redis.StartAsync();
        return redis;
    }

    /// <summary>The Secrets the chart's values name: the signing key, the Redis configuration string, and TLS files.</summary>
    private static Dictionary<string, IReadOnlyDictionary<string, string>> Secrets(RedisProcess redis, params (string Key, string Value)[] tls)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new(StringComparer.Ordinal)
        {
            ["broker-keys"] = new Dictionary<string, string> { ["signing-key.pem"] = key.ExportECPrivateKeyPem() },
            ["broker-redis"] = new Dictionary<string, string> { ["configuration"] = redis.EndPoint },
            ["broker-tls"] = tls.ToDictionary(t => t.Key, t => t.Value),
        };
    }

    private static X509Certificate2 SelfSignedCertificate(out string certificatePem, out string keyPem)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=broker.example.org", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("broker.example.org");
        request.CertificateExtensions.Add(names.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        certificatePem = certificate.ExportCertificatePem();
        keyPem = key.ExportPkcs8PrivateKeyPem();
        return certificate;
    }

    [GeneratedRegex("sha256:[0-9a-f]{24}")]
    private static partial Regex PolicyVersion();

    /// <summary>A console log entry of level warning or above (the console formatter's "warn:", "fail:", "crit:").</summary>
    [GeneratedRegex(@"^(warn|fail|crit): (?<category>[^\[\s]+)\[(?<id>\d+)\]", RegexOptions.Multiline)]
    private static partial Regex LogLevelWarningOrAbove();

    /// <summary>The policy file in required.yaml's policy.files.</summary>
    [GeneratedRegex(@"payments\.yaml: \|\n(?<policy>(?:      .*\n)+)")]
    private static partial Regex PolicyFromValues();
}
