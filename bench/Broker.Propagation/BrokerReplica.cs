using System.Collections.Concurrent;
using System.Diagnostics;

namespace Broker.Propagation;

/// <summary>
/// One broker replica: a separate process running the Release build of src/Broker (<c>dotnet Broker.dll</c>), on https
/// loopback, configured through <c>Broker__*</c> / <c>Kestrel__*</c> environment variables as bench/load/run.sh does.
/// </summary>
internal sealed class BrokerReplica : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private BrokerReplica(string name, Process process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
    }

    public string Name { get; }

    /// <summary>Where this replica listens (not the issuer, which names replica A through the relay).</summary>
    public Uri Address { get; }

    /// <summary>User + system CPU time of the process so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<BrokerReplica> StartAsync(string name, string brokerDll, int port, IReadOnlyDictionary<string, string> environment, HttpClient client)
    {
        var address = new Uri($"https://127.0.0.1:{port}/");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { brokerDll, "--urls", $"https://127.0.0.1:{port}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"replica {name} did not start");
        var replica = new BrokerReplica(name, process, address);
        process.OutputDataReceived += (_, e) => replica.Collect(e.Data);
        process.ErrorDataReceived += (_, e) => replica.Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                break;
            }

            try
            {
                using var response = await client.GetAsync(new Uri(address, "readyz"));
                if (response.IsSuccessStatusCode)
                {
                    return replica;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        var log = string.Join('\n', replica._output);
        await replica.DisposeAsync();
        throw new InvalidOperationException($"replica {name} did not become ready:\n{log}");
    }

    /// <summary>The last lines the process wrote (its log at Warning and above).</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Collect(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
