using System.Diagnostics;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>A child process (<c>dotnet</c>, <c>node</c>) with its output kept for failure messages, killed on dispose.</summary>
public sealed class TestProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _standardOutput = [];
    private readonly List<string> _standardError = [];

    public TestProcess(string dll, string workingDirectory, params string[] arguments)
        : this(dll, workingDirectory, null, arguments)
    {
    }

    /// <summary>Starts <c>dotnet dll arguments</c>; <paramref name="environment"/> sets variables, or removes those whose value is null.</summary>
    public TestProcess(string dll, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
        : this("dotnet", workingDirectory, environment, arguments.Prepend(dll))
    {
    }

    private TestProcess(string fileName, string workingDirectory, IReadOnlyDictionary<string, string?>? environment, IEnumerable<string> arguments)
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

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Record(e.Data, _standardOutput);
        _process.ErrorDataReceived += (_, e) => Record(e.Data, _standardError);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="fileName"/> (found on PATH) with these environment variables added.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program is not installed.</exception>
    public static TestProcess Start(string fileName, string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        new(fileName, workingDirectory, environment.ToDictionary(e => e.Key, e => (string?)e.Value), arguments.AsEnumerable());

    public bool HasExited => _process.HasExited;

    /// <summary>Standard output only, one entry per line.</summary>
    public IReadOnlyList<string> StandardOutputLines
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

    /// <summary>What the process wrote to stdout only.</summary>
    public string StandardOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _standardOutput);
            }
        }
    }

    /// <summary>What the process wrote to stderr only.</summary>
    public string StandardError
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _standardError);
            }
        }
    }

    /// <summary>Waits for the process to exit (and its output to be read), failing with the output past <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The process did not exit within {timeout}: " + Output);
        }

        return _process.ExitCode;
    }

    /// <summary>Waits until a line of output satisfies <paramref name="match"/> and returns it, failing with the output past 60 s or on exit.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            // Once it has exited, every line is read before the last look: WaitForExit() without a timeout waits for
            // the output readers too.
            var exited = _process.HasExited;
            if (exited)
            {
                _process.WaitForExit();
            }

            lock (_output)
            {
                if (_output.FirstOrDefault(match) is { } line)
                {
                    return line;
                }
            }

            Assert.False(exited, "The process exited: " + Output);
            Assert.True(DateTime.UtcNow < deadline, "No such line of output: " + Output);
            await Task.Delay(50);
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
                // A process that has exited is not ready, whatever answers on its port now.
                using var response = await client.GetAsync(url);
                if (response.IsSuccessStatusCode && !_process.HasExited)
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

    private void Record(string? line, List<string> stream)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
                stream.Add(line);
            }
        }
    }
}
