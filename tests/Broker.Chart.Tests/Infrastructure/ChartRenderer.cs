using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

[assembly: AssemblyFixture(typeof(Broker.Chart.Tests.Infrastructure.ChartRenderer))]

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// tests/charts/render (Go's text/template with sprig and Helm's engine rules, see its main.go), built once per test
/// run and run against charts/broker. Helm itself cannot be installed here; Go and the libraries Helm is built on can,
/// from Debian's packages. When Go or those packages are missing every test fails with how to install them.
/// </summary>
public sealed class ChartRenderer : IAsyncLifetime
{
    private const string InstallHint =
        "The chart tests build tests/charts/render with Go in GOPATH mode against Debian's packages: " +
        "`apt-get install -y golang-go golang-github-masterminds-sprig-dev golang-github-xeipuuv-gojsonschema-dev` " +
        "(.ci/run does this).";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-chart-render-").FullName;

    // Rendering is deterministic, and the scenario theories render the same values many times.
    private readonly ConcurrentDictionary<string, Lazy<Task<RenderedChart>>> _rendered = new(StringComparer.Ordinal);

    public string Executable => Path.Combine(_directory, "render");

    public async ValueTask InitializeAsync()
    {
        // GOPATH mode: the libraries come from /usr/share/gocode (Debian's golang-*-dev packages), never a module
        // proxy. The build cache outlives the run, so later runs link in about a second.
        var environment = new Dictionary<string, string?>
        {
            ["GO111MODULE"] = "off",
            ["GOPATH"] = "/usr/share/gocode",
            ["GOFLAGS"] = null,
            ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "broker-chart-tests-gocache"),
        };
        ProcessResult result;
        try
        {
            result = await RunAsync("go", Path.Combine(Repository.Root, "tests", "charts", "render"), environment, "build", "-o", Executable, ".");
        }
        catch (Win32Exception)
        {
            throw new InvalidOperationException("'go' was not found on PATH. " + InstallHint);
        }

        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"go build of tests/charts/render failed ({result.ExitCode}):\n{result.StandardError}\n{InstallHint}");
        }
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Runs the renderer on charts/broker with these values files (later ones win) and extra arguments.</summary>
    public Task<ProcessResult> RunAsync(IEnumerable<string> valuesFiles, params string[] arguments) =>
        RunOnAsync(Repository.Chart, valuesFiles, arguments);

    /// <summary>Runs the renderer on another chart directory.</summary>
    public Task<ProcessResult> RunOnAsync(string chart, IEnumerable<string> valuesFiles, params string[] arguments) =>
        RunAsync(Executable, Repository.Root, null, [.. arguments, "-chart", chart, .. valuesFiles.SelectMany(f => new[] { "-f", f })]);

    /// <summary>Renders charts/broker as `helm template` would (release "broker" in namespace "auth"), failing the test on an error.</summary>
    public Task<RenderedChart> RenderAsync(params string[] valuesFiles) =>
        _rendered.GetOrAdd(string.Join('\n', valuesFiles), _ => new Lazy<Task<RenderedChart>>(() => RenderNowAsync(valuesFiles))).Value;

    private async Task<RenderedChart> RenderNowAsync(string[] valuesFiles)
    {
        var yaml = await RunAsync(valuesFiles, "-name", RenderedChart.ReleaseName, "-namespace", RenderedChart.Namespace);
        Assert.True(yaml.ExitCode == 0, "The chart did not render: " + yaml.StandardError);
        var json = await RunAsync(valuesFiles, "-name", RenderedChart.ReleaseName, "-namespace", RenderedChart.Namespace, "-json");
        Assert.True(json.ExitCode == 0, "The chart did not render: " + json.StandardError);

        // The YAML as printed must also be YAML to a second, independent parser.
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml.StandardOutput))
        {
            stream.Load(reader);
        }

        var manifests = JsonNode.Parse(json.StandardOutput)!.AsArray()
            .Select(d => new Manifest(d!["source"]!.GetValue<string>(), d["object"]!.AsObject()))
            .ToList();
        Assert.Equal(manifests.Count, stream.Documents.Count);
        Assert.All(stream.Documents, d => Assert.IsType<YamlMappingNode>(d.RootNode));
        return new RenderedChart(manifests, yaml.StandardOutput);
    }

    /// <summary>Renders with values the chart must refuse, and returns what it said.</summary>
    public async Task<string> RefuseAsync(params string[] valuesFiles)
    {
        var result = await RunAsync(valuesFiles, "-name", RenderedChart.ReleaseName, "-namespace", RenderedChart.Namespace);
        Assert.True(result.ExitCode != 0, "The chart rendered values it should have refused:\n" + result.StandardOutput);
        Assert.Empty(result.StandardOutput);
        return result.StandardError;
    }

    public static async Task<ProcessResult> RunAsync(string fileName, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }

        return new ProcessResult(process.ExitCode, await output, await error);
    }
}

/// <summary>What a child process did.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);
