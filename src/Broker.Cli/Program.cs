using System.CommandLine;
using System.CommandLine.Parsing;

namespace Broker.Cli;

/// <summary>The <c>brokerctl</c> entry point.</summary>
internal static class Program
{
    /// <summary>Runs <c>brokerctl</c> with the process's console, environment and Ctrl+C handling.</summary>
    public static Task<int> Main(string[] args) =>
        RunAsync(args, new CliEnvironment(Console.Out, Console.Error) { HandleTermination = true }, CancellationToken.None);

    /// <summary>
    /// Runs <c>brokerctl</c> in-process, writing to the given writers. Configuration still comes from the
    /// process environment (<c>BROKER_URL</c>, <c>BROKER_TOKEN</c>).
    /// </summary>
    /// <returns>The exit code: 0 success, 1 refused, 2 usage, 3 authentication, 4 unreachable, 5 policy errors.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, new CliEnvironment(stdout, stderr), CancellationToken.None);

    internal static async Task<int> RunAsync(string[] args, CliEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var root = CommandTree.Create(environment);
        var parseResult = root.Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            // Parse errors are usage errors (exit 2), reported in the same one-line form as every other error.
            return environment.Usage($"{parseResult.Errors[0].Message} (see '{HelpCommand(parseResult)}')");
        }

        var configuration = new InvocationConfiguration
        {
            Output = environment.Out,
            Error = environment.Error,
            // Unexpected exceptions are bugs: let them surface with their stack trace rather than be
            // turned into an exit code that looks like an expected failure.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = environment.HandleTermination ? TimeSpan.FromSeconds(2) : null,
        };
        return await parseResult.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary><c>brokerctl grants list --help</c> for the deepest command the line reached.</summary>
    private static string HelpCommand(ParseResult parseResult)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            names.Insert(0, result.Command.Name);
        }

        return string.Join(' ', ["brokerctl", .. names, "--help"]);
    }
}
