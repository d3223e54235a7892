using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// The broker container of a rendered Deployment, run here the way the kubelet would run it from the image: the
/// published app as its working directory, the image's environment overlaid with exactly the container's, each
/// volume laid out in a directory of its own (ConfigMaps and Secrets as the kubelet writes them, with the volume's
/// mode and, when the tests run as root, the pod's fsGroup), mount paths in values translated to those directories,
/// Secret references resolved from <c>secrets</c>, and, when the tests run as root, the pod's user and group
/// (setpriv). The app directory is not writable, and the user has no home directory: what the read-only root
/// filesystem of the pod gives.
/// </summary>
public sealed class BrokerPod : IAsyncDisposable
{
    /// <summary>What the base image (mcr.microsoft.com/dotnet/aspnet, chiseled) sets in its own environment.</summary>
    private static readonly Dictionary<string, string> ImageEnvironment = new(StringComparer.Ordinal)
    {
        ["ASPNETCORE_HTTP_PORTS"] = "8080",
        ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
        ["APP_UID"] = "1654",
        ["HOME"] = "/home/app",
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };

    private readonly JsonObject _container;
    private readonly string _app;
    private readonly Dictionary<string, string> _volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KubeletVolume> _configMaps = new(StringComparer.Ordinal);
    private readonly List<(string MountPath, string Directory)> _mounts = [];
    private readonly List<string> _output = [];
    private readonly (uint User, uint Group) _identity;
    private Process? _process;

    private BrokerPod(JsonObject container, string app, (uint, uint) identity)
    {
        _container = container;
        _app = app;
        _identity = identity;
    }

    /// <summary>The certificate HTTPS probes must see (TLS from a Secret); null: plain HTTP.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    public IReadOnlyDictionary<string, string> Environment { get; private set; } = new Dictionary<string, string>();

    public int Port => _container["ports"]![0]!["containerPort"]!.GetValue<int>();

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>The addresses Kestrel reported listening on.</summary>
    public IReadOnlyList<string> ListeningOn
    {
        get
        {
            const string Marker = "Now listening on: ";
            lock (_output)
            {
                return [.. _output.Where(l => l.Contains(Marker, StringComparison.Ordinal)).Select(l => l[(l.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length)..].Trim())];
            }
        }
    }

    /// <summary>The real user id of the running process, from /proc.</summary>
    public uint ProcessUser =>
        uint.Parse(File.ReadLines($"/proc/{_process!.Id}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    public static bool RunsAsPodUser => System.Environment.IsPrivilegedProcess;

    /// <summary>Lays out the volumes and the environment of the broker container of <paramref name="chart"/>.</summary>
    public static BrokerPod Prepare(RenderedChart chart, string app, string root, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets)
    {
        var podSpec = chart.PodSpec;
        var security = podSpec["securityContext"]!;
        var identity = (security["runAsUser"]!.GetValue<uint>(), security["runAsGroup"]!.GetValue<uint>());
        var fsGroup = security["fsGroup"]!.GetValue<uint>();
        (uint, uint)? owner = RunsAsPodUser ? (0u, fsGroup) : null;
        var pod = new BrokerPod(chart.BrokerContainer, app, identity);

        foreach (var volume in podSpec["volumes"]!.AsArray().Select(v => v!.AsObject()))
        {
            var name = volume["name"]!.GetValue<string>();
            var directory = Path.Combine(root, "volumes", name);
            pod._volumes[name] = directory;
            if (volume["emptyDir"] is not null)
            {
                Directory.CreateDirectory(directory);
                File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111); // the kubelet's emptyDir: 0777
            }
            else if (volume["configMap"] is { } configMap)
            {
                var data = chart.OfKind("ConfigMap").Single(c => c.Name == configMap["name"]!.GetValue<string>()).Document["data"]!.AsObject()
                    .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());
                pod._configMaps[name] = new KubeletVolume(directory, (UnixFileMode)(configMap["defaultMode"]?.GetValue<int>() ?? 0b110_100_100), owner);
                pod._configMaps[name].Write(data);
            }
            else if (volume["secret"] is { } secret)
            {
                var data = secrets[secret["secretName"]!.GetValue<string>()];
                new KubeletVolume(directory, (UnixFileMode)(secret["defaultMode"]?.GetValue<int>() ?? 0b110_100_100), owner).Write(data);
            }
            else
            {
                throw new NotSupportedException($"Volume {name} is of a type the tests cannot lay out here.");
            }
        }

        foreach (var mount in pod._container["volumeMounts"]!.AsArray())
        {
            pod._mounts.Add((mount!["mountPath"]!.GetValue<string>(), pod._volumes[mount["name"]!.GetValue<string>()]));
        }

        pod._mounts.Sort((a, b) => b.MountPath.Length.CompareTo(a.MountPath.Length));
        var environment = new Dictionary<string, string>(ImageEnvironment, StringComparer.Ordinal);
        foreach (var variable in pod._container["env"]!.AsArray())
        {
            var value = variable!["value"] is { } literal
                ? pod.Translate(literal.GetValue<string>())
                : secrets[variable["valueFrom"]!["secretKeyRef"]!["name"]!.GetValue<string>()][variable["valueFrom"]!["secretKeyRef"]!["key"]!.GetValue<string>()];
            environment[variable["name"]!.GetValue<string>()] = value;
        }

        pod.Environment = environment;
        return pod;
    }

    /// <summary>The directory standing for a volume of the pod.</summary>
    public string Volume(string name) => _volumes[name];

    /// <summary>A ConfigMap volume of the pod, to update as the kubelet does when the ConfigMap changes.</summary>
    public KubeletVolume ConfigMap(string volumeName) => _configMaps[volumeName];

    /// <summary>Starts the container's process and waits until its startup probe succeeds, as the kubelet does.</summary>
    public async Task StartAsync()
    {
        var dotnet = FindDotnet();
        var start = new ProcessStartInfo(RunsAsPodUser ? "setpriv" : dotnet)
        {
            WorkingDirectory = _app,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (RunsAsPodUser)
        {
            foreach (var argument in new[] { "--reuid", $"{_identity.User}", "--regid", $"{_identity.Group}", "--clear-groups", "--", dotnet })
            {
                start.ArgumentList.Add(argument);
            }
        }

        start.ArgumentList.Add(Path.Combine(_app, "Broker.dll"));
        start.Environment.Clear();
        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(_process.HasExited, "The broker exited: " + Output);
            Assert.True(DateTime.UtcNow < deadline, "The startup probe never succeeded: " + Output);
            try
            {
                using var response = await ProbeAsync("startupProbe");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Runs one of the container's HTTP probes as the kubelet would (path, named port, scheme, timeout).</summary>
    public async Task<HttpResponseMessage> ProbeAsync(string probe)
    {
        var get = _container[probe]!["httpGet"]!;
        var port = _container["ports"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == get["port"]!.GetValue<string>())!["containerPort"]!.GetValue<int>();
        using var client = Client(TimeSpan.FromSeconds(_container[probe]!["timeoutSeconds"]!.GetValue<int>()));
        return await client.GetAsync(new Uri($"{get["scheme"]!.GetValue<string>().ToLowerInvariant()}://127.0.0.1:{port}{get["path"]!.GetValue<string>()}"));
    }

    /// <summary>A client for the broker's port; with TLS it accepts only <see cref="ServerCertificate"/>.</summary>
    public HttpClient Client(TimeSpan timeout)
    {
        var expected = ServerCertificate;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => expected is not null && certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(expected.RawData),
            },
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }

    /// <summary>A value naming a path in the pod, with the mount path replaced by the volume's directory here.</summary>
    private string Translate(string value)
    {
        foreach (var (mountPath, directory) in _mounts)
        {
            var at = value.IndexOf(mountPath, StringComparison.Ordinal);
            var end = at + mountPath.Length;
            if (at >= 0 && (end == value.Length || value[end] == '/'))
            {
                return string.Concat(value.AsSpan(0, at), directory, value.AsSpan(end));
            }
        }

        return value;
    }

    private static string FindDotnet() =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "dotnet"))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("dotnet was not found on PATH.");

    private void Record(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
