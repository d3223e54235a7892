using Broker.Cli.Api;

namespace Broker.Cli;

/// <summary>Where a run of <c>brokerctl</c> writes and reads its configuration; tests substitute all of it.</summary>
internal sealed class CliEnvironment(TextWriter stdout, TextWriter stderr)
{
    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    /// <summary>Reads <c>BROKER_URL</c> and <c>BROKER_TOKEN</c>; the process environment unless replaced.</summary>
    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>How often <c>audit tail --follow</c> polls. Default 2 seconds.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Stop on Ctrl+C/SIGTERM by cancelling the command (the real process only).</summary>
    public bool HandleTermination { get; init; }

    /// <summary>
    /// Values that must never be printed (the bearer token). Every error line is scrubbed of them, in
    /// case a server or an exception message ever echoes one back.
    /// </summary>
    public List<string> Secrets { get; } = [];

    /// <summary>Writes <c>brokerctl: message</c> to stderr and returns <paramref name="exitCode"/>.</summary>
    public int Fail(int exitCode, string message)
    {
        foreach (var secret in Secrets)
        {
            message = message.Replace(secret, "[redacted]", StringComparison.Ordinal);
        }

        Error.WriteLine($"brokerctl: {message}");
        return exitCode;
    }

    /// <summary>Reports a failed admin API call with its exit code.</summary>
    public int Fail(ApiFailure failure) => Fail(failure.ExitCode, failure.Message);

    /// <summary>Reports a usage error (exit 2).</summary>
    public int Usage(string message) => Fail(ExitCodes.Usage, message);
}
