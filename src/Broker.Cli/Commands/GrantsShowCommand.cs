using System.Text.Json;
using System.CommandLine;
using Broker.Cli.Api;
using Broker.Contracts.Admin;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary><c>grants show ID</c>.</summary>
internal static class GrantsShowCommand
{
    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var id = new Argument<string>("ID") { Description = "The grant's id (the token's jti)" };
        var command = new Command("show", "Show one grant, with its revocation if it was revoked") { id };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, environment, parseResult, parseResult.GetRequiredValue(id), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string grantId, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.Value("the grant ID", grantId) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.GetGrantAsync(grantId, cancellationToken);
        if (result is ApiResult<GrantView>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (grant, body) = (ApiResult<GrantView>.Ok)result;
        if (parseResult.GetValue(globals.Json))
        {
            environment.Out.WriteLine(body.Trim());
            return ExitCodes.Success;
        }

        // Every value in full: truncation is for tables only.
        List<(string Name, string Value)> fields =
        [
            ("grant_id", Text.Printable(grant.GrantId)),
            ("tenant", Text.Printable(grant.Tenant)),
            .. grant.ConsumerTenant is { } consumer ? [("consumer_tenant", Text.Printable(consumer))] : Array.Empty<(string, string)>(),
            ("subject", Text.Printable(grant.Subject)),
            ("client_id", Text.Printable(grant.ClientId)),
            ("actor_chain", grant.ActorChain.Count == 0 ? Text.None : Text.Printable(string.Join(" -> ", grant.ActorChain))),
            ("capabilities", Text.List(grant.Capabilities)),
            ("audience", Text.Printable(grant.Audience)),
            ("task_id", Text.Printable(grant.TaskId)),
            ("purpose", Text.Printable(grant.Purpose)),
            ("issued_at", Text.Timestamp(grant.IssuedAt)),
            ("expires_at", Text.Timestamp(grant.ExpiresAt)),
            ("policy_version", Text.Printable(grant.PolicyVersion)),
            ("parent_grant_id", Text.Printable(grant.ParentGrantId)),
            ("binding", grant.Binding is { } binding ? Text.Printable(JsonSerializer.Serialize(binding, AdminApiJsonContext.Default.GrantBindingView)) : Text.None),
            ("status", Text.Printable(grant.Status)),
        ];
        if (grant.Revocation is { } revocation)
        {
            fields.Add(("revoked_at", Text.Timestamp(revocation.RevokedAt)));
            fields.Add(("revoked_by", Text.Printable(revocation.RevokedBy)));
            fields.Add(("reason", Text.Printable(revocation.Reason)));
        }

        var width = fields.Max(f => f.Name.Length);
        foreach (var (name, value) in fields)
        {
            environment.Out.WriteLine($"{name.PadRight(width)}  {value}");
        }

        return ExitCodes.Success;
    }
}
