using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Testing;

namespace Broker.IntegrationTests.AuthZen;

/// <summary>
/// tests/authzen-pdp/pdp.mjs as a node process on a free loopback port: an OpenID AuthZEN 1.0 decision point that
/// decides from a rules file the test writes (and may rewrite between requests), and reports what it received. Fails
/// (never skips) without node.
/// </summary>
public sealed class AuthZenPdp : IAsyncDisposable
{
    private static readonly string Directory = Path.GetFullPath(typeof(AuthZenPdp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "AuthZenPdpDirectory").Value!);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _rulesFile;

    private AuthZenPdp(Process process, int port, string rulesFile)
    {
        _process = process;
        _rulesFile = rulesFile;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    /// <summary>The Access Evaluation endpoint (§6, HTTPS binding path).</summary>
    public Uri EvaluationEndpoint => new(BaseAddress, "access/v1/evaluation");

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the decision point with <paramref name="rules"/>, requiring <paramref name="token"/> as bearer credential.</summary>
    public static async Task<AuthZenPdp> StartAsync(string rulesFile, JsonArray rules, string? token)
    {
        await File.WriteAllTextAsync(rulesFile, new JsonObject { ["rules"] = rules }.ToJsonString());
        var port = FreePorts.Next();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("pdp.mjs");
        start.Environment["PDP_LISTEN"] = $"127.0.0.1:{port}";
        start.Environment["PDP_RULES"] = rulesFile;
        if (token is not null)
        {
            start.Environment["PDP_TOKEN"] = token;
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"node is not on PATH ({e.Message}): the AuthZEN tests need Node.js 20 or later (apt-get install -y nodejs).", e);
        }

        var pdp = new AuthZenPdp(process, port, rulesFile);
        using var client = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, "The decision point exited: " + pdp.Output);
            Assert.True(DateTime.UtcNow < deadline, "The decision point did not become ready: " + pdp.Output);
            try
            {
                using var response = await client.GetAsync(new Uri(pdp.BaseAddress, "healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return pdp;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Replaces the decision point's rules; it reads them again on its next request.</summary>
    public Task WriteRulesAsync(JsonArray rules) =>
        File.WriteAllTextAsync(_rulesFile, new JsonObject { ["rules"] = rules }.ToJsonString());

    /// <summary>Every evaluation request the decision point received so far, oldest first.</summary>
    public async Task<IReadOnlyList<JsonObject>> CallsAsync()
    {
        using var client = new HttpClient();
        var calls = JsonNode.Parse(await client.GetStringAsync(new Uri(BaseAddress, "calls")))!.AsObject();
        return [.. calls["requests"]!.AsArray().Select(c => c!.AsObject())];
    }

    /// <summary>How many evaluation requests the decision point received so far.</summary>
    public async Task<int> CountAsync() => (await CallsAsync()).Count;

    /// <summary>The evaluation requests received about <paramref name="capability"/>.</summary>
    public async Task<IReadOnlyList<JsonObject>> CallsForAsync(string capability) =>
        [.. (await CallsAsync()).Where(c => (string?)c["body"]?["resource"]?["id"] == capability)];

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
