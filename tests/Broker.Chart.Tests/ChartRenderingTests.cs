using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Chart.Tests.Infrastructure;

namespace Broker.Chart.Tests;

/// <summary>
/// charts/broker rendered with the values an operator would give (tests/Broker.Chart.Tests/values), and its manifests
/// read as Kubernetes reads them: the kinds, labels and selectors, probes, the restricted security context, and that
/// every setting the chart gives the broker is one of its real options.
/// </summary>
public sealed partial class ChartRenderingTests(ChartRenderer renderer)
{
    private static readonly string[] SelectorLabels = ["app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/name"];

    private static readonly Dictionary<string, string> ApiVersions = new(StringComparer.Ordinal)
    {
        ["ServiceAccount"] = "v1",
        ["ConfigMap"] = "v1",
        ["Service"] = "v1",
        ["Pod"] = "v1",
        ["Deployment"] = "apps/v1",
        ["PodDisruptionBudget"] = "policy/v1",
        ["HorizontalPodAutoscaler"] = "autoscaling/v2",
        ["NetworkPolicy"] = "networking.k8s.io/v1",
        ["ServiceMonitor"] = "monitoring.coreos.com/v1",
    };

    /// <summary>Volume types the restricted Pod Security Standard allows.</summary>
    private static readonly HashSet<string> RestrictedVolumeTypes =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    public static TheoryData<string[]> Scenarios => new()
    {
        new[] { "required.yaml" },
        new[] { "required.yaml", "servicemonitor.yaml" },
        new[] { "required.yaml", "spiffe-csi.yaml" },
        new[] { "required.yaml", "git-sync.yaml" },
        new[] { "required.yaml", "tls-secret.yaml" },
        new[] { "required.yaml", "autoscaling.yaml" },
        new[] { "required.yaml", "locked-down.yaml" },
        new[] { "required.yaml", "single-in-memory.yaml" },
        new[] { "required.yaml", "extras.yaml" },
        new[] { "required.yaml", "key-ring-redis.yaml" },
        new[] { "required.yaml", "authzen.yaml" },
        new[] { "required.yaml", "spiffe-csi.yaml", "git-sync.yaml", "servicemonitor.yaml", "locked-down.yaml", "autoscaling.yaml" },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_EveryScenario_HasTheCoreKindsWithTheirApiVersions(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        foreach (var kind in new[] { "ServiceAccount", "Service", "Deployment", "NetworkPolicy", "Pod" })
        {
            chart.One(kind);
        }

        Assert.All(chart.Manifests, m => Assert.Equal(ApiVersions[m.Kind], m.Document["apiVersion"]!.GetValue<string>()));
        Assert.All(chart.Manifests.GroupBy(m => m.Kind), g => Assert.Single(g));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_EveryResource_CarriesTheStandardLabelsAndTheReleaseNamespace(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        Assert.All(chart.Manifests, m =>
        {
            Assert.Equal(RenderedChart.Namespace, m.Document["metadata"]!["namespace"]!.GetValue<string>());
            Assert.Matches(DnsLabel(), m.Name);
            Assert.Equal("broker", Label(m.Labels, "app.kubernetes.io/name"));
            Assert.Equal(RenderedChart.ReleaseName, Label(m.Labels, "app.kubernetes.io/instance"));
            Assert.Equal("1.0.0", Label(m.Labels, "app.kubernetes.io/version"));
            Assert.Equal("Helm", Label(m.Labels, "app.kubernetes.io/managed-by"));
            Assert.Equal("broker-0.1.0", Label(m.Labels, "helm.sh/chart"));
            Assert.Equal(m.Kind == "Pod" ? "test" : "broker", Label(m.Labels, "app.kubernetes.io/component"));
        });
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_Selectors_AllPickTheBrokerPodsAndNothingElse(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        var deployment = chart.One("Deployment");
        var matchLabels = deployment.Spec["selector"]!["matchLabels"]!.AsObject();
        var podLabels = deployment.Spec["template"]!["metadata"]!["labels"]!.AsObject();

        // The Deployment's selector is immutable: only the stable labels, never the version or chart.
        Assert.Equal(SelectorLabels, matchLabels.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.True(IsSubset(matchLabels, podLabels), "The pod template does not carry the Deployment's selector labels.");
        Assert.True(IsSubset(matchLabels, chart.One("Service").Spec["selector"]!.AsObject()) && IsSubset(chart.One("Service").Spec["selector"]!.AsObject(), matchLabels));
        Assert.True(JsonNode.DeepEquals(matchLabels, chart.One("NetworkPolicy").Spec["podSelector"]!["matchLabels"]));
        foreach (var pdb in chart.OfKind("PodDisruptionBudget"))
        {
            Assert.True(JsonNode.DeepEquals(matchLabels, pdb.Spec["selector"]!["matchLabels"]));
        }

        foreach (var monitor in chart.OfKind("ServiceMonitor"))
        {
            Assert.True(IsSubset(monitor.Spec["selector"]!["matchLabels"]!.AsObject(), chart.One("Service").Labels));
        }

        foreach (var hpa in chart.OfKind("HorizontalPodAutoscaler"))
        {
            Assert.Equal("Deployment", hpa.Spec["scaleTargetRef"]!["kind"]!.GetValue<string>());
            Assert.Equal(deployment.Name, hpa.Spec["scaleTargetRef"]!["name"]!.GetValue<string>());
        }

        foreach (var constraint in chart.PodSpec["topologySpreadConstraints"]?.AsArray() ?? [])
        {
            Assert.True(IsSubset(constraint!["labelSelector"]!["matchLabels"]!.AsObject(), podLabels), "A topology spread constraint selects other pods.");
        }

        // The helm test pod is not one of the broker's pods: no Service, budget or network policy counts it.
        Assert.False(IsSubset(matchLabels, chart.One("Pod").Labels));
        Assert.Equal(chart.One("ServiceAccount").Name, chart.PodSpec["serviceAccountName"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_PortsAndProbes_AreWiredToWhereTheBrokerListens(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        var broker = chart.BrokerContainer;
        var port = Assert.Single(broker["ports"]!.AsArray())!;
        var portName = port["name"]!.GetValue<string>();
        var portNumber = port["containerPort"]!.GetValue<int>();
        var https = RenderedChart.Env(broker).ContainsKey("Kestrel__Endpoints__Https__Url") || RenderedChart.EnvValue(broker, "ASPNETCORE_HTTPS_PORTS") is not null;
        Assert.Equal(https ? "https" : "http", portName);
        Assert.Equal([portNumber], ListeningPorts(broker));

        AssertProbe(broker, "startupProbe", "/healthz", portName, https);
        AssertProbe(broker, "livenessProbe", "/healthz", portName, https);
        AssertProbe(broker, "readinessProbe", "/readyz", portName, https);

        var servicePort = Assert.Single(chart.One("Service").Spec["ports"]!.AsArray())!;
        Assert.Equal(portName, servicePort["targetPort"]!.GetValue<string>());
        Assert.Equal(https ? 443 : 80, servicePort["port"]!.GetValue<int>());
        Assert.Equal(portName, chart.One("NetworkPolicy").Spec["ingress"]![0]!["ports"]![0]!["port"]!.GetValue<string>());
        foreach (var monitor in chart.OfKind("ServiceMonitor"))
        {
            Assert.Equal(servicePort["name"]!.GetValue<string>(), monitor.Spec["endpoints"]![0]!["port"]!.GetValue<string>());
        }

        // The helm test pod calls the Service by its in-cluster name and port.
        var command = RenderedChart.Container(chart.One("Pod").Spec, "curl")["command"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
        Assert.Contains($"{portName}://{chart.One("Service").Name}.auth.svc:{servicePort["port"]}/readyz", command);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_EveryPod_MeetsTheRestrictedPodSecurityStandardWithAReadOnlyRoot(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        Assert.All(chart.PodSpecs, pod =>
        {
            var spec = pod.Spec;
            var podContext = spec["securityContext"]!.AsObject();
            Assert.False(spec["automountServiceAccountToken"]!.GetValue<bool>());
            foreach (var host in new[] { "hostNetwork", "hostPID", "hostIPC" })
            {
                Assert.Null(spec[host]);
            }

            Assert.All(spec["volumes"]?.AsArray() ?? [], v => Assert.Contains(Assert.Single(v!.AsObject(), kv => kv.Key != "name").Key, RestrictedVolumeTypes));
            Assert.NotEqual(0, podContext["runAsUser"]!.GetValue<int>());
            Assert.Equal("RuntimeDefault", podContext["seccompProfile"]!["type"]!.GetValue<string>());
            Assert.All(RenderedChart.Containers(spec), container =>
            {
                var context = container["securityContext"]!.AsObject();
                Assert.True(context["runAsNonRoot"]!.GetValue<bool>() && podContext["runAsNonRoot"]!.GetValue<bool>());
                Assert.False(context["allowPrivilegeEscalation"]!.GetValue<bool>());
                Assert.Null(context["privileged"]);
                Assert.True(context["readOnlyRootFilesystem"]!.GetValue<bool>());
                Assert.Equal(["ALL"], context["capabilities"]!["drop"]!.AsArray().Select(c => c!.GetValue<string>()));
                Assert.Null(context["capabilities"]!["add"]);
                Assert.Equal("RuntimeDefault", context["seccompProfile"]!["type"]!.GetValue<string>());
                Assert.Null(container["ports"]?.AsArray().FirstOrDefault(p => p!["hostPort"] is not null));
            });
        });

        // The one writable place: /tmp, an emptyDir of bounded size.
        var tmp = Assert.Single(chart.BrokerContainer["volumeMounts"]!.AsArray(), m => m!["mountPath"]!.GetValue<string>() == "/tmp")!;
        Assert.NotNull(Volume(chart.PodSpec, tmp["name"]!.GetValue<string>())["emptyDir"]!["sizeLimit"]);
        Assert.All(
            chart.BrokerContainer["volumeMounts"]!.AsArray().Where(m => m!["mountPath"]!.GetValue<string>() != "/tmp"),
            m => Assert.True(m!["readOnly"]!.GetValue<bool>(), $"{m["mountPath"]} is writable by the broker."));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_BrokerEnvironment_IsMadeOfRealBrokerSettings(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        var env = RenderedChart.Env(chart.BrokerContainer);
        var literal = env.ToDictionary(e => e.Key, e => e.Value["value"]?.GetValue<string>() ?? "redis.example.org:6379", StringComparer.Ordinal);
        Assert.Empty(BrokerSettings.Problems(literal));
        Assert.Equal("https://broker.example.org", literal["Broker__Issuer"]);

        // The Redis configuration string holds a password: only ever from the Secret, never in the manifest.
        if (env.TryGetValue("Broker__Redis__Configuration", out var redis))
        {
            Assert.Null(redis["value"]);
            Assert.Equal("broker-redis", redis["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
            Assert.Equal("configuration", redis["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>());
        }

        Assert.All(env.Values.Where(e => e["valueFrom"] is not null), e => Assert.NotNull(e["valueFrom"]!["secretKeyRef"]));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Render_EveryPathTheBrokerIsGiven_IsInAMountOfTheRightVolume(string[] values)
    {
        // Act
        var chart = await RenderAsync(values);

        // Assert
        var broker = chart.BrokerContainer;
        // PEM keys (keys.store=Files), or the key-encryption certificate of a ring in Redis (where PEM keys are optional).
        var keyFile = RenderedChart.EnvValue(broker, "Broker__Keys__SigningKeyFiles__0");
        var keyEncryption = RenderedChart.EnvValue(broker, "Broker__Keys__Encryption__CertificatePath");
        Assert.True(keyFile is not null || keyEncryption is not null, "The broker is given no signing key and no key ring.");
        if (keyFile is not null)
        {
            Assert.Equal("secret", VolumeTypeAt(chart.PodSpec, broker, keyFile));
            Assert.Equal("broker-keys", VolumeAt(chart.PodSpec, broker, keyFile)["secret"]!["secretName"]!.GetValue<string>());
            Assert.Equal(288, VolumeAt(chart.PodSpec, broker, keyFile)["secret"]!["defaultMode"]!.GetValue<int>()); // 0440
        }

        if (keyEncryption is not null)
        {
            Assert.Equal("broker-key-encryption", VolumeAt(chart.PodSpec, broker, keyEncryption)["secret"]!["secretName"]!.GetValue<string>());
            Assert.Equal(288, VolumeAt(chart.PodSpec, broker, keyEncryption)["secret"]!["defaultMode"]!.GetValue<int>()); // 0440
        }

        Assert.Contains(VolumeTypeAt(chart.PodSpec, broker, RenderedChart.EnvValue(broker, "Broker__Policy__Path")!), new[] { "configMap", "emptyDir" });
        if (RenderedChart.EnvValue(broker, "Kestrel__Endpoints__Https__Certificate__Path") is { } certificate)
        {
            Assert.Equal("broker-tls", VolumeAt(chart.PodSpec, broker, certificate)["secret"]!["secretName"]!.GetValue<string>());
            Assert.Equal("secret", VolumeTypeAt(chart.PodSpec, broker, RenderedChart.EnvValue(broker, "Kestrel__Endpoints__Https__Certificate__KeyPath")!));
        }

        if (RenderedChart.EnvValue(broker, "Broker__Spiffe__EndpointSocket") is { } socket)
        {
            Assert.StartsWith("unix://", socket, StringComparison.Ordinal);
            Assert.Equal("csi", VolumeTypeAt(chart.PodSpec, broker, socket["unix://".Length..]));
        }

        // Every mount names a volume, and every volume is mounted.
        var mounted = RenderedChart.Containers(chart.PodSpec).SelectMany(c => c["volumeMounts"]!.AsArray()).Select(m => m!["name"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(mounted.Order(StringComparer.Ordinal), chart.PodSpec["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(RenderedChart.Containers(chart.PodSpec).SelectMany(c => c["volumeMounts"]!.AsArray()), m => Assert.Null(m!["subPath"]));
    }

    [Fact]
    public async Task Render_ConfigMapPolicy_HoldsTheFilesAndIsWatchedWithoutSubPath()
    {
        // Act
        var chart = await RenderAsync("required.yaml");

        // Assert
        var configMap = chart.One("ConfigMap");
        var file = Assert.Single(configMap.Document["data"]!.AsObject());
        Assert.Equal("payments.yaml", file.Key);
        Assert.StartsWith("tenant: payments\n", file.Value!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(configMap.Name, Volume(chart.PodSpec, "policy")["configMap"]!["name"]!.GetValue<string>());
        Assert.Equal("/etc/broker/policy", RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Policy__Path"));
        Assert.Equal("true", RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Policy__Watch"));
        Assert.Null(chart.One("Deployment").Spec["template"]!["metadata"]!["annotations"]);
    }

    [Fact]
    public async Task Render_PolicyWatchOff_RollsThePodsWhenThePolicyChanges()
    {
        // Arrange
        using var changed = new TempValues("policy:\n  files:\n    payments.yaml: |\n      tenant: payments\n      max_lifetime: 5m\n");

        // Act
        var before = await RenderAsync("required.yaml", "single-in-memory.yaml");
        var after = await renderer.RenderAsync(Repository.ValuesFile("required.yaml"), Repository.ValuesFile("single-in-memory.yaml"), changed.Path);

        // Assert
        var checksum = ChecksumOf(before);
        Assert.Matches("^[0-9a-f]{64}$", checksum);
        Assert.NotEqual(checksum, ChecksumOf(after));
        Assert.Equal("false", RenderedChart.EnvValue(before.BrokerContainer, "Broker__Policy__Watch"));

        static string ChecksumOf(RenderedChart chart) =>
            chart.One("Deployment").Spec["template"]!["metadata"]!["annotations"]!["checksum/policy"]!.GetValue<string>();
    }

    [Fact]
    public async Task Render_SingleReplicaInMemory_HasNoRedisAndNoDisruptionBudget()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "single-in-memory.yaml");

        // Assert
        Assert.Equal(1, chart.One("Deployment").Spec["replicas"]!.GetValue<int>());
        Assert.DoesNotContain(RenderedChart.Env(chart.BrokerContainer).Keys, k => k.StartsWith("Broker__Redis__", StringComparison.Ordinal));
        Assert.Empty(chart.OfKind("PodDisruptionBudget"));
    }

    [Fact]
    public async Task Render_Defaults_TwoReplicasWithRedisABudgetAndNoAutoscaler()
    {
        // Act
        var chart = await RenderAsync("required.yaml");

        // Assert
        Assert.Equal(2, chart.One("Deployment").Spec["replicas"]!.GetValue<int>());
        Assert.Equal(1, chart.One("PodDisruptionBudget").Spec["maxUnavailable"]!.GetValue<int>());
        Assert.Equal(0, chart.One("Deployment").Spec["strategy"]!["rollingUpdate"]!["maxUnavailable"]!.GetValue<int>());
        Assert.Empty(chart.OfKind("HorizontalPodAutoscaler"));
        Assert.Empty(chart.OfKind("ServiceMonitor"));
        Assert.Null(RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Telemetry__Prometheus__Enabled"));
        Assert.Equal("broker:1.0.0", chart.BrokerContainer["image"]!.GetValue<string>());
        Assert.Null(chart.One("NetworkPolicy").Spec["ingress"]![0]!["from"]);
        Assert.Equal(["Ingress"], chart.One("NetworkPolicy").Spec["policyTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
    }

    [Fact]
    public async Task Render_Autoscaling_HandsTheReplicaCountToTheAutoscaler()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "autoscaling.yaml");

        // Assert
        var hpa = chart.One("HorizontalPodAutoscaler");
        Assert.Equal(3, hpa.Spec["minReplicas"]!.GetValue<int>());
        Assert.Equal(9, hpa.Spec["maxReplicas"]!.GetValue<int>());
        Assert.Equal(70, hpa.Spec["metrics"]![0]!["resource"]!["target"]!["averageUtilization"]!.GetValue<int>());
        Assert.Null(chart.One("Deployment").Spec["replicas"]);
    }

    [Fact]
    public async Task Render_GitSync_SyncsBeforeStartAndOutsideTheWatchedDirectory()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "git-sync.yaml");

        // Assert
        Assert.Empty(chart.OfKind("ConfigMap"));
        var init = RenderedChart.Container(chart.PodSpec, "git-sync-init");
        var sidecar = RenderedChart.Container(chart.PodSpec, "git-sync");
        Assert.Equal("true", RenderedChart.EnvValue(init, "GITSYNC_ONE_TIME"));
        Assert.Null(RenderedChart.EnvValue(sidecar, "GITSYNC_ONE_TIME"));
        Assert.Equal("60s", RenderedChart.EnvValue(sidecar, "GITSYNC_PERIOD"));
        foreach (var gitSync in new[] { init, sidecar })
        {
            Assert.Equal("https://git.example.org/platform/broker-policy.git", RenderedChart.EnvValue(gitSync, "GITSYNC_REPO"));
            Assert.Equal("production", RenderedChart.EnvValue(gitSync, "GITSYNC_REF"));
            Assert.Equal("broker-policy-git", RenderedChart.Env(gitSync)["GITSYNC_PASSWORD"]["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>());
            Assert.Null(RenderedChart.Env(gitSync)["GITSYNC_PASSWORD"]["value"]);
        }

        // The broker watches the directory that holds git-sync's link (swapped by rename on every sync), not the
        // link itself, and the repository lies outside that directory.
        var policyPath = RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Policy__Path")!;
        var link = RenderedChart.EnvValue(sidecar, "GITSYNC_LINK")!;
        var root = RenderedChart.EnvValue(sidecar, "GITSYNC_ROOT")!;
        Assert.Equal(policyPath, Path.GetDirectoryName(link));
        Assert.False(root.StartsWith(policyPath + "/", StringComparison.Ordinal) || root == policyPath);
        Assert.Equal(
            VolumeAt(chart.PodSpec, chart.BrokerContainer, policyPath)["name"]!.GetValue<string>(),
            VolumeAt(chart.PodSpec, sidecar, link)["name"]!.GetValue<string>());
        Assert.True(MountAt(sidecar, link)["readOnly"] is null);
    }

    [Fact]
    public async Task Render_SpiffeCsi_MountsTheWorkloadApiAndServesTheSvid()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "spiffe-csi.yaml");

        // Assert
        var broker = chart.BrokerContainer;
        var csi = Volume(chart.PodSpec, "spiffe-workload-api")["csi"]!;
        Assert.Equal("csi.spiffe.io", csi["driver"]!.GetValue<string>());
        Assert.True(csi["readOnly"]!.GetValue<bool>());
        Assert.Equal("unix:///spiffe-workload-api/spire-agent.sock", RenderedChart.EnvValue(broker, "Broker__Spiffe__EndpointSocket"));
        Assert.Equal("true", RenderedChart.EnvValue(broker, "Broker__Spiffe__ServeTls"));
        Assert.Equal("true", RenderedChart.EnvValue(broker, "Broker__Spiffe__RequestClientCertificates"));
        Assert.Equal("spiffe://example.org/ops/*", RenderedChart.EnvValue(broker, "Broker__Admin__GlobalAdmins__0"));
        Assert.Equal(string.Empty, RenderedChart.EnvValue(broker, "ASPNETCORE_HTTP_PORTS"));
    }

    [Fact]
    public async Task Render_KeyRingInRedis_MountsTheKeyEncryptionCertificate_AndNoPemKeys()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "key-ring-redis.yaml");

        // Assert
        var broker = chart.BrokerContainer;
        Assert.Equal("Redis", RenderedChart.EnvValue(broker, "Broker__Keys__Store"));
        Assert.Equal("/etc/broker/key-encryption/certificate.pfx", RenderedChart.EnvValue(broker, "Broker__Keys__Encryption__CertificatePath"));
        Assert.Equal("7.00:00:00", RenderedChart.EnvValue(broker, "Broker__Keys__Rotation__Interval"));
        Assert.Equal("broker-key-encryption", Volume(chart.PodSpec, "key-encryption")["secret"]!["secretName"]!.GetValue<string>());
        Assert.True(MountAt(broker, "/etc/broker/key-encryption")["readOnly"]!.GetValue<bool>());
        Assert.DoesNotContain(chart.PodSpec["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "signing-keys");
        Assert.Null(RenderedChart.EnvValue(broker, "Broker__Keys__SigningKeyFiles__0"));
    }

    [Fact]
    public async Task Render_AuthZen_AllowedHostsAndTheSecretsDirectoryMountedReadOnly()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "authzen.yaml");

        // Assert: each allowed host as one list entry, in order.
        var broker = chart.BrokerContainer;
        Assert.Equal("pdp.example.org", RenderedChart.EnvValue(broker, "Broker__AuthZen__AllowedHosts__0"));
        Assert.Equal("opa.policy.svc.cluster.local:8181", RenderedChart.EnvValue(broker, "Broker__AuthZen__AllowedHosts__1"));
        Assert.Null(RenderedChart.EnvValue(broker, "Broker__AuthZen__AllowedHosts__2"));

        // The credentials: the Secret's keys as files, read-only, readable by the pod's group only.
        var directory = RenderedChart.EnvValue(broker, "Broker__AuthZen__SecretsDirectory");
        Assert.Equal("/etc/broker/authzen-secrets", directory);
        Assert.True(MountAt(broker, directory!)["readOnly"]!.GetValue<bool>());
        var volume = Volume(chart.PodSpec, "authzen-secrets");
        Assert.Equal("broker-authzen", volume["secret"]!["secretName"]!.GetValue<string>());
        Assert.Equal(288, volume["secret"]!["defaultMode"]!.GetValue<int>()); // 0440
    }

    [Fact]
    public async Task Render_AuthZenDefaults_NoHostAllowedAndNoSecretsMounted()
    {
        // Act
        var chart = await RenderAsync("required.yaml");

        // Assert: the broker refuses every decision point unless the operator lists hosts.
        var broker = chart.BrokerContainer;
        Assert.Null(RenderedChart.EnvValue(broker, "Broker__AuthZen__AllowedHosts__0"));
        Assert.Null(RenderedChart.EnvValue(broker, "Broker__AuthZen__SecretsDirectory"));
        Assert.DoesNotContain(chart.PodSpec["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "authzen-secrets");
    }

    [Fact]
    public async Task Render_TlsSecret_KestrelServesTheSecretsCertificate()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "tls-secret.yaml");

        // Assert
        var broker = chart.BrokerContainer;
        Assert.Equal("https://*:8080", RenderedChart.EnvValue(broker, "Kestrel__Endpoints__Https__Url"));
        Assert.Equal("/etc/broker/tls/tls.crt", RenderedChart.EnvValue(broker, "Kestrel__Endpoints__Https__Certificate__Path"));
        Assert.Equal("/etc/broker/tls/tls.key", RenderedChart.EnvValue(broker, "Kestrel__Endpoints__Https__Certificate__KeyPath"));
        Assert.Equal(string.Empty, RenderedChart.EnvValue(broker, "ASPNETCORE_HTTP_PORTS"));
        Assert.Contains("--insecure", RenderedChart.Container(chart.One("Pod").Spec, "curl")["command"]!.AsArray().Select(a => a!.GetValue<string>()));
    }

    [Fact]
    public async Task Render_ServiceMonitor_ScrapesTheMetricsPathWithThePrometheusLabels()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "servicemonitor.yaml");

        // Assert
        var monitor = chart.One("ServiceMonitor");
        var endpoint = Assert.Single(monitor.Spec["endpoints"]!.AsArray())!;
        Assert.Equal("/metrics", endpoint["path"]!.GetValue<string>());
        Assert.Equal("http", endpoint["scheme"]!.GetValue<string>());
        Assert.Equal("30s", endpoint["interval"]!.GetValue<string>());
        Assert.Equal("prometheus", Label(monitor.Labels, "release"));
        Assert.Equal([RenderedChart.Namespace], monitor.Spec["namespaceSelector"]!["matchNames"]!.AsArray().Select(n => n!.GetValue<string>()));

        // The broker serves the scraped path on the port the ServiceMonitor scrapes (its own listener).
        var broker = chart.BrokerContainer;
        Assert.Equal("true", RenderedChart.EnvValue(broker, "Broker__Telemetry__Prometheus__Enabled"));
        Assert.Equal("true", RenderedChart.EnvValue(broker, "Broker__Telemetry__Prometheus__UsePublicPort"));
        Assert.Equal("/metrics", RenderedChart.EnvValue(broker, "Broker__Telemetry__Prometheus__Path"));
    }

    [Fact]
    public async Task Render_LockedDown_LetsInOnlyLabelledClientsAndLetsOutOnlyDnsAndRedis()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "locked-down.yaml");

        // Assert
        var policy = chart.One("NetworkPolicy").Spec;
        Assert.Equal(["Ingress", "Egress"], policy["policyTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
        var from = policy["ingress"]![0]!["from"]!.AsArray();
        Assert.Equal(2, from.Count);
        Assert.Equal("true", from[0]!["podSelector"]!["matchLabels"]!["broker-client"]!.GetValue<string>());
        Assert.Equal("monitoring", from[1]!["namespaceSelector"]!["matchLabels"]!["kubernetes.io/metadata.name"]!.GetValue<string>());
        var egress = policy["egress"]!.AsArray();
        Assert.Equal([53, 53], egress[0]!["ports"]!.AsArray().Select(p => p!["port"]!.GetValue<int>()));
        Assert.Equal(6379, egress[1]!["ports"]![0]!["port"]!.GetValue<int>());

        // helm test must still get in.
        Assert.Equal("true", Label(chart.One("Pod").Labels, "broker-client"));
    }

    [Fact]
    public async Task Render_Notes_SayWhereTheBrokerIsAndWhatItStoresIn()
    {
        // Act
        var result = await renderer.RunAsync([Repository.ValuesFile("required.yaml")], "-name", "broker", "-namespace", "auth", "-notes");

        // Assert
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("http://broker.auth.svc:80", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Redis (Secret broker-redis)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("helm test broker -n auth", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("<no value>", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_Extras_ReachThePodAndItsNeighbours()
    {
        // Act
        var chart = await RenderAsync("required.yaml", "extras.yaml");

        // Assert
        Assert.All(chart.Manifests, m => Assert.StartsWith("auth-broker", m.Name, StringComparison.Ordinal));
        Assert.All(chart.Manifests, m => Assert.Equal("identity", Label(m.Labels, "team")));
        var template = chart.One("Deployment").Spec["template"]!["metadata"]!;
        Assert.Equal("false", Label(template["labels"]!.AsObject(), "sidecar.istio.io/inject"));
        Assert.Equal("false", template["annotations"]!["prometheus.io/scrape"]!.GetValue<string>());
        Assert.Equal("registry.example.org/platform/broker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", chart.BrokerContainer["image"]!.GetValue<string>());
        Assert.Equal("registry-credentials", chart.PodSpec["imagePullSecrets"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("platform-critical", chart.PodSpec["priorityClassName"]!.GetValue<string>());
        Assert.Equal("linux", chart.PodSpec["nodeSelector"]!["kubernetes.io/os"]!.GetValue<string>());
        Assert.Equal("platform", chart.PodSpec["tolerations"]![0]!["value"]!.GetValue<string>());
        Assert.NotNull(chart.PodSpec["affinity"]!["podAntiAffinity"]);
        Assert.Equal("identity", chart.One("ServiceAccount").Document["metadata"]!["annotations"]!["example.org/owner"]!.GetValue<string>());
        Assert.Equal("gateway", chart.One("Service").Document["metadata"]!["annotations"]!["example.org/exposed-by"]!.GetValue<string>());
        Assert.Equal("auth-broker", chart.PodSpec["serviceAccountName"]!.GetValue<string>());
        Assert.Equal("Warning", RenderedChart.EnvValue(chart.BrokerContainer, "Logging__LogLevel__Default"));
        Assert.Equal("oidc:https://login.example.org#ops-admin", RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Admin__GlobalAdmins__0"));
        Assert.Equal("50/s", RenderedChart.EnvValue(chart.BrokerContainer, "Broker__RateLimits__PerIdentity"));
        Assert.Equal("00:01:00", RenderedChart.EnvValue(chart.BrokerContainer, "Broker__Subjects__ClockSkew"));
        Assert.Equal("auth-broker-client", Assert.Single(chart.One("Pod").Labels, l => l.Key.EndsWith("-client", StringComparison.Ordinal)).Key);
    }

    [Fact]
    public async Task Render_Twice_GivesTheSameManifests()
    {
        // Arrange
        string[] values = [.. new[] { "required.yaml", "spiffe-csi.yaml", "git-sync.yaml", "locked-down.yaml" }.Select(Repository.ValuesFile)];

        // Act: two runs of the renderer (RenderAsync would reuse the first).
        var first = await renderer.RunAsync(values, "-name", "broker");
        var second = await renderer.RunAsync(values, "-name", "broker");

        // Assert
        Assert.Equal(0, first.ExitCode);
        Assert.NotEmpty(first.StandardOutput);
        Assert.Equal(first.StandardOutput, second.StandardOutput);
    }

    private static void AssertProbe(JsonObject container, string probe, string path, string port, bool https)
    {
        var get = container[probe]!["httpGet"]!;
        Assert.Equal(path, get["path"]!.GetValue<string>());
        Assert.Equal(port, get["port"]!.GetValue<string>());
        Assert.Equal(https ? "HTTPS" : "HTTP", get["scheme"]!.GetValue<string>());
        Assert.True(container[probe]!["periodSeconds"]!.GetValue<int>() > 0);
    }

    /// <summary>The ports the broker will listen on, from the variables Kestrel reads.</summary>
    private static List<int> ListeningPorts(JsonObject container)
    {
        List<int> ports = [];
        foreach (var name in new[] { "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" })
        {
            ports.AddRange((RenderedChart.EnvValue(container, name) ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
        }

        if (RenderedChart.EnvValue(container, "Kestrel__Endpoints__Https__Url") is { } url)
        {
            ports.Add(int.Parse(url[(url.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }

        return ports;
    }

    private static JsonObject Volume(JsonObject podSpec, string name) =>
        Assert.Single(podSpec["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == name)!.AsObject();

    private static JsonObject MountAt(JsonObject container, string path) =>
        container["volumeMounts"]!.AsArray().Select(m => m!.AsObject())
            .Where(m => path == m["mountPath"]!.GetValue<string>() || path.StartsWith(m["mountPath"]!.GetValue<string>() + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m["mountPath"]!.GetValue<string>().Length)
            .FirstOrDefault() ?? throw new Xunit.Sdk.XunitException($"{path} is in no volume mount of container {container["name"]}.");

    private static JsonObject VolumeAt(JsonObject podSpec, JsonObject container, string path) =>
        Volume(podSpec, MountAt(container, path)["name"]!.GetValue<string>());

    private static string VolumeTypeAt(JsonObject podSpec, JsonObject container, string path) =>
        VolumeAt(podSpec, container, path).Single(kv => kv.Key != "name").Key;

    private static string? Label(JsonObject labels, string name) => labels[name]?.GetValue<string>();

    private static bool IsSubset(JsonObject subset, JsonObject of) =>
        subset.All(kv => of[kv.Key] is { } value && value.GetValue<string>() == kv.Value!.GetValue<string>());

    private Task<RenderedChart> RenderAsync(params string[] values) =>
        renderer.RenderAsync([.. values.Select(Repository.ValuesFile)]);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
