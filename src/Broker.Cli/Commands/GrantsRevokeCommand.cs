using System.CommandLine;
using Broker.Cli.Api;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary>
/// <c>grants revoke ID --reason R</c>, or in bulk <c>grants revoke --tenant T (--subject S | --task ID) --reason R</c>.
/// </summary>
internal static class GrantsRevokeCommand
{
    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var id = new Argument<string?>("ID") { Description = "The grant to revoke; omit to revoke in bulk with --tenant", Arity = ArgumentArity.ZeroOrOne };
        var reason = new Option<string>("--reason") { Description = "Why (1-256 printable characters; recorded with the revocation and audited)", HelpName = "REASON", Required = true };
        var tenant = new Option<string?>("--tenant") { Description = "Bulk: the tenant whose grants to revoke", HelpName = "TENANT" };
        var subject = new Option<string?>("--subject") { Description = "Bulk: every unexpired grant of this subject", HelpName = "SUBJECT" };
        var task = new Option<string?>("--task") { Description = "Bulk: every unexpired grant of this task", HelpName = "TASK_ID" };
        var command = new Command("revoke", "Revoke one grant, or every unexpired grant of a subject or task") { id, reason, tenant, subject, task };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            globals,
            environment,
            parseResult,
            new Request(parseResult.GetValue(id), parseResult.GetRequiredValue(reason), parseResult.GetValue(tenant), parseResult.GetValue(subject), parseResult.GetValue(task)),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, Request request, CancellationToken cancellationToken)
    {
        if (Check(request) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var json = parseResult.GetValue(globals.Json);
        return request.GrantId is not null
            ? await RevokeOneAsync(client, environment, json, request.GrantId, request.Reason, cancellationToken)
            : await RevokeManyAsync(client, environment, json, request, cancellationToken);
    }

    private static async Task<int> RevokeOneAsync(AdminApiClient client, CliEnvironment environment, bool json, string grantId, string reason, CancellationToken cancellationToken)
    {
        var result = await client.RevokeAsync(grantId, reason, cancellationToken);
        if (result is ApiResult<RevokeResult>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (revoked, body) = (ApiResult<RevokeResult>.Ok)result;
        var id = Text.Printable(revoked.GrantId);
        var at = Text.Timestamp(revoked.RevokedAt);
        environment.Out.WriteLine(
            json ? body.Trim()
            : revoked.Result == "already_revoked" ? $"Grant {id} was already revoked at {at}."
            : $"Revoked grant {id} at {at}.");
        return ExitCodes.Success;
    }

    private static async Task<int> RevokeManyAsync(AdminApiClient client, CliEnvironment environment, bool json, Request request, CancellationToken cancellationToken)
    {
        var result = await client.RevokeManyAsync(request.Tenant!, request.Subject, request.TaskId, request.Reason, cancellationToken);
        if (result is ApiResult<BulkRevokeResult>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (revoked, body) = (ApiResult<BulkRevokeResult>.Ok)result;
        var scope = request.Subject is not null ? $"subject {Text.Printable(request.Subject)}" : $"task {Text.Printable(request.TaskId)}";
        environment.Out.WriteLine(json
            ? body.Trim()
            : $"Revoked {revoked.Revoked} grant{(revoked.Revoked == 1 ? "" : "s")} of {scope} in tenant {Text.Printable(request.Tenant)}.");
        return ExitCodes.Success;
    }

    private static string? Check(Request request)
    {
        if (request.GrantId is not null)
        {
            if (request.Tenant is not null || request.Subject is not null || request.TaskId is not null)
            {
                return "pass a grant ID, or --tenant with --subject or --task, not both";
            }

            return ArgumentChecks.First(ArgumentChecks.Value("the grant ID", request.GrantId), ArgumentChecks.Reason(request.Reason));
        }

        if (request.Tenant is null)
        {
            return "pass the grant ID to revoke, or --tenant with --subject or --task to revoke in bulk";
        }

        // The API would revoke a whole tenant when neither is given; that is not something to do by omission.
        if ((request.Subject is null) == (request.TaskId is null))
        {
            return "bulk revocation needs exactly one of --subject or --task";
        }

        return ArgumentChecks.First(
            ArgumentChecks.Value("--tenant", request.Tenant),
            ArgumentChecks.Value("--subject", request.Subject),
            ArgumentChecks.Value("--task", request.TaskId),
            ArgumentChecks.Reason(request.Reason));
    }

    private sealed record Request(string? GrantId, string Reason, string? Tenant, string? Subject, string? TaskId);
}
