using System.Diagnostics;
using System.Net;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The real broker process (<c>dotnet Broker.dll …</c>, as an operator starts it), in a working directory of its
/// own, with its stdout and stderr captured line by line.
/// </summary>
public sealed class BrokerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _output = [];

    private BrokerProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved as received.</summary>
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

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>dotnet Broker.dll <paramref name="arguments"/></c> in <paramref name="workingDirectory"/>.</summary>
    public static BrokerProcess Start(string workingDirectory, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Broker.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test run's own settings must not leak into the broker's.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("Broker__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var broker = new BrokerProcess(Process.Start(start)!);
        broker._process.OutputDataReceived += (_, e) => broker.Record(e.Data);
        broker._process.ErrorDataReceived += (_, e) => broker.Record(e.Data);
        broker._process.BeginOutputReadLine();
        broker._process.BeginErrorReadLine();
        return broker;
    }

    /// <summary>Waits for the process to end on its own and returns its exit code, with all its output read.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("The broker did not exit: " + Output);
        }

        return _process.ExitCode;
    }

    /// <summary>Waits until <c>/readyz</c> answers 200 through <paramref name="client"/>; fails if the process exits first.</summary>
    public async Task WaitUntilReadyAsync(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(_process.HasExited, "The broker exited: " + Output);
            Assert.True(watch.Elapsed < Deadline, "The broker did not become ready: " + Output);
            try
            {
                // A process that has exited is not ready, whatever answers on its port now.
                using var ready = await client.GetAsync("/readyz");
                if (ready.StatusCode == HttpStatusCode.OK && !_process.HasExited)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Kills the process at once (SIGKILL: no graceful shutdown), as a crashed or evicted replica ends.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

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
