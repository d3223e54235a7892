using System.CommandLine;
using System.Text.Json;
using Broker.Cli.Api;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary><c>audit tail [--tenant T] [--limit N] [--follow]</c>.</summary>
internal static class AuditTailCommand
{
    private static readonly Column[] Columns =
    [
        new("TIME", 20),
        new("TYPE", 16),
        new("OUTCOME", 7),
        new("TENANT", 16),
        new("IDENTITY", 48),
        new("GRANT ID", 28), // fits a whole grant ID (27 characters): it is what admins copy into revoke
        new("ERROR", 40),
    ];

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var tenant = new Option<string?>("--tenant") { Description = "The tenant whose events to show (global admins may omit it for all)", HelpName = "TENANT" };
        var limit = new Option<int?>("--limit") { Description = "How many of the newest events, 1-1000 (default: the broker's, 100)", HelpName = "N" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep polling every 2 seconds and print new events until Ctrl+C" };
        var command = new Command("tail", "Show the newest audit events, oldest first") { tenant, limit, follow };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            globals, environment, parseResult, parseResult.GetValue(tenant), parseResult.GetValue(limit), parseResult.GetValue(follow), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string? tenant, int? limit, bool follow, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.First(ArgumentChecks.Value("--tenant", tenant), ArgumentChecks.Limit(limit)) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var json = parseResult.GetValue(globals.Json);
        var previous = new HashSet<string>(StringComparer.Ordinal);
        var first = true;
        var unavailableReported = false;
        try
        {
            while (true)
            {
                var result = await client.GetAuditAsync(tenant, limit, cancellationToken);
                if (result is ApiResult<AuditPage>.Failed failed)
                {
                    // While following, an outage is waited out (reported once); a refusal or an expired
                    // token will not heal by itself, so it ends the command.
                    if (first || failed.Failure is not ApiFailure.Unavailable)
                    {
                        return environment.Fail(failed.Failure);
                    }

                    if (!unavailableReported)
                    {
                        environment.Fail(failed.Failure.ExitCode, failed.Failure.Message + "; still polling");
                        unavailableReported = true;
                    }
                }
                else
                {
                    unavailableReported = false;
                    var (page, body) = (ApiResult<AuditPage>.Ok)result;
                    if (!follow)
                    {
                        Print(environment, json, body, page.Events, header: true);
                        return ExitCodes.Success;
                    }

                    // Events have no id: an event is new when its exact JSON was not in the previous
                    // answer. The broker sends the newest first; they are printed oldest first.
                    var keys = page.Events.Select(e => e.GetRawText()).ToList();
                    var fresh = page.Events.Where(e => !previous.Contains(e.GetRawText())).ToList();
                    if (!first && previous.Count > 0 && fresh.Count == page.Events.Count && page.Events.Count == (limit ?? 100))
                    {
                        environment.Error.WriteLine($"brokerctl: more than {page.Events.Count} events since the last poll; older ones were skipped");
                    }

                    Print(environment, json, null, fresh, header: first);
                    environment.Out.Flush();
                    previous = new HashSet<string>(keys, StringComparer.Ordinal);
                    first = false;
                }

                await Task.Delay(environment.FollowInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how --follow ends.
            return ExitCodes.Success;
        }
    }

    private static void Print(CliEnvironment environment, bool json, string? body, IReadOnlyList<JsonElement> newestFirst, bool header)
    {
        if (json)
        {
            if (body is not null)
            {
                environment.Out.WriteLine(body.Trim());
                return;
            }

            // --follow --json: one event per line (JSON Lines), oldest first.
            foreach (var element in newestFirst.Reverse())
            {
                environment.Out.WriteLine(element.GetRawText());
            }

            return;
        }

        var rows = newestFirst.Reverse().Select(Row).ToList();
        if (body is not null)
        {
            if (rows.Count == 0)
            {
                environment.Out.WriteLine("No audit events.");
                return;
            }

            Table.Write(environment.Out, Columns, rows);
            return;
        }

        Table.WriteFixed(environment.Out, Columns, rows, header);
    }

    private static string[] Row(JsonElement element)
    {
        AuditEvent? e = null;
        try
        {
            e = element.Deserialize(AdminJsonContext.Default.AuditEvent);
        }
        catch (JsonException)
        {
            // An event whose fields are not the expected types is still shown, as far as it can be.
        }

        e ??= new AuditEvent();
        return
        [
            Text.Timestamp(e.Time),
            Text.Printable(e.Type),
            Text.Printable(e.Outcome),
            Text.Printable(e.Tenant),
            Text.Printable(e.Actor ?? e.Subject),
            Text.Printable(e.GrantId),
            e.Error is null ? Text.None : Text.Printable(e.Reason is null ? e.Error : $"{e.Error} ({e.Reason})"),
        ];
    }
}
