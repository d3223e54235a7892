// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.CommandLine;
using Agent;

// Ctrl+C cancels the run; the task is still ended (its grants revoked) on the way out when it can be.
var command = AgentCommand.Create(Console.Out, Console.Error);
var parseResult = command.Parse(args);
if (parseResult.Errors.Count > 0)
{
    await Console.Error.WriteLineAsync($"agent: {parseResult.Errors[0].Message} (see 'Agent --help')");
    return ExitCodes.Usage;
}

return await parseResult.InvokeAsync(new InvocationConfiguration
{
    // Unexpected exceptions are bugs: they surface with their stack trace, not as an exit code of an expected failure.
    EnableDefaultExceptionHandler = false,
    ProcessTerminationTimeout = TimeSpan.FromSeconds(5),
});
