using System.CommandLine;
using Broker.Cli.Api;
using Broker.Contracts.Admin;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary><c>keys list</c>, <c>keys rotate</c>, <c>keys retire KID</c>: the broker's signing keys (global admins).</summary>
internal static class KeysCommands
{
    private static readonly Column[] Columns =
    [
        new("KID", 44), // a whole RFC 7638 thumbprint (43 characters): it is what admins copy into retire
        new("STATE", 8),
        new("ORIGIN", 10),
        new("ACTIVATES AT", 20),
        new("RETIRED AT", 20),
        new("REMOVED AT", 20),
    ];

    public static Command Create(GlobalOptions globals, CliEnvironment environment) => new("keys", "Inspect and rotate the signing keys (global admins)")
    {
        List(globals, environment),
        Rotate(globals, environment),
        Retire(globals, environment),
    };

    private static Command List(GlobalOptions globals, CliEnvironment environment)
    {
        var command = new Command("list", "List the key ring: next, active and retired keys, with their times");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = globals.Connect(parseResult, environment);
            if (client is null)
            {
                return ExitCodes.Usage;
            }

            var result = await client.ListKeysAsync(cancellationToken);
            if (result is ApiResult<KeyListView>.Failed failed)
            {
                return environment.Fail(failed.Failure);
            }

            var (ring, body) = (ApiResult<KeyListView>.Ok)result;
            if (parseResult.GetValue(globals.Json))
            {
                environment.Out.WriteLine(body.Trim());
                return ExitCodes.Success;
            }

            Table.Write(environment.Out, Columns, [.. ring.Keys.Select(k => new[]
            {
                Text.Printable(k.Kid), Text.Printable(k.State), Text.Printable(k.Origin),
                Text.Timestamp(k.ActivatesAt), Text.Timestamp(k.RetiredAt), Text.Timestamp(k.RemoveAt),
            })]);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Rotate(GlobalOptions globals, CliEnvironment environment)
    {
        var command = new Command("rotate", "Make the next key sign as soon as it is safely published, and retire the active one");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = globals.Connect(parseResult, environment);
            if (client is null)
            {
                return ExitCodes.Usage;
            }

            var result = await client.RotateKeyAsync(cancellationToken);
            if (result is ApiResult<KeyRotationView>.Failed failed)
            {
                return environment.Fail(failed.Failure);
            }

            var (rotation, body) = (ApiResult<KeyRotationView>.Ok)result;
            environment.Out.WriteLine(parseResult.GetValue(globals.Json)
                ? body.Trim()
                : $"Key {Text.Printable(rotation.Kid)} signs from {Text.Timestamp(rotation.ActivatesAt)}" +
                  (rotation.PreviousKid is null ? "." : $"; {Text.Printable(rotation.PreviousKid)} retires then and stays published until {Text.Timestamp(rotation.PreviousRemoveAt)}."));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Retire(GlobalOptions globals, CliEnvironment environment)
    {
        var kid = new Argument<string>("KID") { Description = "The key to retire (its kid, as keys list shows it)" };
        var command = new Command("retire", "Retire a key that no longer signs (or never did); the active key cannot be retired") { kid };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var value = parseResult.GetRequiredValue(kid);
            if (ArgumentChecks.Value("the kid", value) is { } error)
            {
                return environment.Usage(error);
            }

            using var client = globals.Connect(parseResult, environment);
            if (client is null)
            {
                return ExitCodes.Usage;
            }

            var result = await client.RetireKeyAsync(value, cancellationToken);
            if (result is ApiResult<KeyRetirementView>.Failed failed)
            {
                return environment.Fail(failed.Failure);
            }

            var (retired, body) = (ApiResult<KeyRetirementView>.Ok)result;
            environment.Out.WriteLine(
                parseResult.GetValue(globals.Json) ? body.Trim()
                : retired.Result == "already_retired" ? $"Key {Text.Printable(retired.Kid)} was already retired; it stays published until {Text.Timestamp(retired.RemoveAt)}."
                : $"Retired key {Text.Printable(retired.Kid)}; it stays published until {Text.Timestamp(retired.RemoveAt)}.");
            return ExitCodes.Success;
        });
        return command;
    }
}
