using System.Diagnostics;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>A child process (<c>dotnet</c>, <c>node</c>) with its output kept for failure messages, killed on dispose.</summary>
public sealed class TestProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _standardOutput = [];

    public TestProcess(string dll, string workingDirectory, params string[] arguments)
        : this(StartInfo("dotnet", workingDirectory, null, [dll, .. arguments]))
    {
    }

    private TestProcess(ProcessStartInfo start)
    {
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Record(e.Data, standardOutput: true);
        _process.ErrorDataReceived += (_, e) => Record(e.Data, standardOutput: false);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="fileName"/> (found on PATH) with these environment variables added.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program is not installed.</exception>
    public static TestProcess Start(string fileName, string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        new(StartInfo(fileName, workingDirectory, environment, arguments));

    public bool HasExited => _process.HasExited;

    /// <summary>Standard output only, one entry per line.</summary>
    public IReadOnlyList<string> StandardOutput
    {
        get
        {
            lock (_output)
            {
                return [.. _standardOutput];
            }
        }
    }

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

    /// <summary>Polls <paramref name="url"/> until it answers 200, failing with the process output past 60 s.</summary>
    public async Task WaitUntilReadyAsync(Uri url)
    {
        using var client = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(_process.HasExited, "The process exited: " + Output);
            Assert.True(DateTime.UtcNow < deadline, "The process did not become ready: " + Output);
            try
            {
                using var response = await client.GetAsync(url);
                if (response.IsSuccessStatusCode)
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>Waits for the process to end by itself; its exit code, or null past <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static ProcessStartInfo StartInfo(string fileName, string workingDirectory, IReadOnlyDictionary<string, string>? environment, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private void Record(string? line, bool standardOutput)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
                if (standardOutput)
                {
                    _standardOutput.Add(line);
                }
            }
        }
    }
}
