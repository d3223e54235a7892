using System.CommandLine;
using Broker.Cli.Api;
using Broker.Contracts.Admin;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary>
/// <c>grants revoke ID --reason R</c>, or in bulk <c>grants revoke --tenant T (--subject S | --task ID) --reason R</c>;
/// for sharing across tenants, <c>--consumer-tenant C</c> (the owner's grants shared with C) or <c>--shared-by O</c> (the
/// consumer's grants of what O shares), which need no subject or task.
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
        var consumer = new Option<string?>("--consumer-tenant") { Description = "Bulk: the grants --tenant shares with this consuming tenant", HelpName = "TENANT" };
        var sharedBy = new Option<string?>("--shared-by") { Description = "Bulk: --tenant's grants of what this owning tenant shares with it", HelpName = "TENANT" };
        var command = new Command("revoke", "Revoke one grant, or every unexpired grant of a subject, task or consuming tenant") { id, reason, tenant, subject, task, consumer, sharedBy };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            globals,
            environment,
            parseResult,
            new Request(parseResult.GetValue(id), parseResult.GetRequiredValue(reason), parseResult.GetValue(tenant), parseResult.GetValue(subject), parseResult.GetValue(task))
            {
                ConsumerTenant = parseResult.GetValue(consumer),
                SharedBy = parseResult.GetValue(sharedBy),
            },
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
        if (result is ApiResult<RevokeView>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (revoked, body) = (ApiResult<RevokeView>.Ok)result;
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
        var result = await client.RevokeManyAsync(request.Tenant!, request.Subject, request.TaskId, request.Reason, cancellationToken, request.ConsumerTenant, request.SharedBy);
        if (result is ApiResult<BulkRevokeView>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (revoked, body) = (ApiResult<BulkRevokeView>.Ok)result;
        var scope = request.Subject is not null ? $"subject {Text.Printable(request.Subject)}"
            : request.TaskId is not null ? $"task {Text.Printable(request.TaskId)}"
            : request.ConsumerTenant is not null ? $"consuming tenant {Text.Printable(request.ConsumerTenant)}"
            : $"what tenant {Text.Printable(request.SharedBy)} shares";
        environment.Out.WriteLine(json
            ? body.Trim()
            : $"Revoked {revoked.Revoked} grant{(revoked.Revoked == 1 ? "" : "s")} of {scope} in tenant {Text.Printable(request.Tenant)}.");
        return ExitCodes.Success;
    }

    private static string? Check(Request request)
    {
        if (request.GrantId is not null)
        {
            if (request.Tenant is not null || request.Subject is not null || request.TaskId is not null || request.ConsumerTenant is not null || request.SharedBy is not null)
            {
                return "pass a grant ID, or --tenant with --subject or --task, not both";
            }

            return ArgumentChecks.First(ArgumentChecks.Value("the grant ID", request.GrantId), ArgumentChecks.Reason(request.Reason));
        }

        if (request.Tenant is null)
        {
            return "pass the grant ID to revoke, or --tenant with --subject or --task to revoke in bulk";
        }

        if (request.ConsumerTenant is not null && request.SharedBy is not null)
        {
            return "pass --consumer-tenant or --shared-by, not both";
        }

        // The API would revoke a whole tenant when nothing narrows it; that is not something to do by omission. A
        // consuming tenant (either side of a share) narrows it enough.
        var shared = request.ConsumerTenant is not null || request.SharedBy is not null;
        if (shared ? request.Subject is not null && request.TaskId is not null : (request.Subject is null) == (request.TaskId is null))
        {
            return shared ? "pass --subject or --task, not both" : "bulk revocation needs exactly one of --subject or --task";
        }

        return ArgumentChecks.First(
            ArgumentChecks.Value("--consumer-tenant", request.ConsumerTenant),
            ArgumentChecks.Value("--shared-by", request.SharedBy),
            ArgumentChecks.Value("--tenant", request.Tenant),
            ArgumentChecks.Value("--subject", request.Subject),
            ArgumentChecks.Value("--task", request.TaskId),
            ArgumentChecks.Reason(request.Reason));
    }

    private sealed record Request(string? GrantId, string Reason, string? Tenant, string? Subject, string? TaskId)
    {
        public string? ConsumerTenant { get; init; }

        public string? SharedBy { get; init; }
    }
}
