using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Broker.Testing.Redis;

/// <summary>
/// One <c>redis-server</c> process on a loopback port, in a throw-away directory, that a test can stop and start
/// again (same port, same directory, so an append-only file survives). The one launcher of the tests and benchmarks:
/// it fails (never skips) with how to install Redis when the binary is missing.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly string _executable;
    private readonly IReadOnlyList<string> _arguments;
    private Process? _process;
    private bool _ownsDirectory;

    /// <param name="directory">The working directory (data, log).</param>
    /// <param name="port">The loopback port to listen on.</param>
    /// <param name="extraArguments">Further <c>redis-server</c> arguments.</param>
    /// <param name="configFile">
    /// A configuration file to load first (a sentinel needs one it can rewrite); the arguments override it.
    /// </param>
    public RedisProcess(string directory, int port, IEnumerable<string> extraArguments, string? configFile = null)
    {
        _executable = FindExecutable("redis-server");
        Directory = directory;
        Port = port;
        _arguments =
        [
            .. configFile is null ? [] : new[] { configFile },
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", directory,
            "--logfile", Path.Combine(directory, "redis.log"),
            "--daemonize", "no",
            "--save", "",
            .. extraArguments,
        ];
    }

    public string Directory { get; }

    public int Port { get; }

    public string EndPoint => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the server and returns once it answers PING.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var start = new ProcessStartInfo(_executable) { UseShellExecute = false, RedirectStandardOutput = false };
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_executable}.");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server on port {Port} exited with {_process.ExitCode}: {LogTail()}");
            }

            if (await TrySendAsync(Port, "PING") == "+PONG")
            {
                return;
            }

            await Task.Delay(25);
        }

        throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within 15 s: {LogTail()}");
    }

    /// <summary>
    /// Stops the server with SHUTDOWN, which flushes and fsyncs an append-only file when there is one, and waits
    /// for the process to exit (killing it after 10 s).
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            await TrySendAsync(Port, "SHUTDOWN");
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Kills the server (SIGKILL), as a crash would: unlike SHUTDOWN, which waits for lagging replicas since
    /// Redis 7, nothing gets a chance to be flushed or replicated.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Starts a server in a new temporary directory on a free loopback port, which <see cref="DisposeAsync"/> deletes.
    /// The port was free when picked and another process on the machine may take it first, so up to three ports are tried.
    /// </summary>
    /// <param name="extraArguments">Further <c>redis-server</c> arguments (persistence is off unless they turn it on).</param>
    public static async Task<RedisProcess> StartTemporaryAsync(params IEnumerable<string> extraArguments)
    {
        for (var attempt = 1; ; attempt++)
        {
            var redis = new RedisProcess(System.IO.Directory.CreateTempSubdirectory("broker-redis-").FullName, FreePorts.Next(), extraArguments)
            {
                _ownsDirectory = true,
            };
            try
            {
                await redis.StartAsync();
                return redis;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await redis.DisposeAsync();
            }
        }
    }

    /// <summary>Stops the server, and deletes its directory when <see cref="StartTemporaryAsync"/> made it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDirectory)
        {
            TryDeleteDirectory(Directory);
        }
    }

    /// <summary>Deletes <paramref name="directory"/> and what it holds, if it can.</summary>
    public static void TryDeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is not worth failing a run for.
        }
    }

    /// <summary>Runs <c>redis-cli</c> with <paramref name="arguments"/> and returns its standard output.</summary>
    public static async Task<string> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(FindExecutable("redis-cli"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-cli.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(wait.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
        }

        return await output;
    }

    /// <summary>Finds an executable on PATH; fails (never skips) with how to install Redis when it is missing.</summary>
    public static string FindExecutable(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"'{name}' was not found on PATH. The integration tests run a real Redis: install it with " +
            "`sudo apt-get install -y redis-server` (Debian/Ubuntu; CI does this in .ci/run), or point " +
            "BROKER_TEST_REDIS at an existing server's connection string.");
    }

    /// <summary>Sends one inline command and returns the first reply line, or null when nobody answers.</summary>
    private static async Task<string?> TrySendAsync(int port, string command)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), timeout.Token);
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return read == 0 ? null : Encoding.ASCII.GetString(buffer, 0, read).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private string LogTail()
    {
        var log = Path.Combine(Directory, "redis.log");
        return File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(10)) : "(no log)";
    }
}
