using Broker.Testing;

namespace Broker.Cli.Tests.Infrastructure;

/// <summary>What one run of brokerctl printed and returned.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}

/// <summary>Runs brokerctl in-process with a private environment (never the test process's variables).</summary>
internal static class Brokerctl
{
    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    public static async Task<CliRun> RunAsync(IReadOnlyDictionary<string, string> variables, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var environment = new CliEnvironment(stdout, stderr) { GetVariable = name => variables.GetValueOrDefault(name) };
        var exitCode = await Program.RunAsync(args, environment, CancellationToken.None);
        return new CliRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The arguments that point brokerctl at <paramref name="stub"/> with a token.</summary>
    public static string[] Against(AdminApiStub stub, string token, params string[] args) =>
        ["--broker", stub.BaseUri.ToString(), "--token", token, .. args];

    /// <summary>A loopback port nothing listens on (reserved for this test process, outside the ephemeral range).</summary>
    public static int ClosedPort() => FreePorts.Next();
}
