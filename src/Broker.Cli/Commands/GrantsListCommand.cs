using System.CommandLine;
using System.Text;
using System.Text.Json;
using Broker.Cli.Api;
using Broker.Contracts.Admin;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary>
/// <c>grants list --tenant T [--subject S | --task ID] [--consumer-tenant C | --shared-by O] [--limit N] [--all]</c>.
/// </summary>
internal static class GrantsListCommand
{
    private static readonly Column[] Columns =
    [
        new("GRANT ID", 28), // fits a whole grant ID (27 characters): it is what admins copy into revoke
        new("SUBJECT", 48),
        new("CAPABILITIES", 32),
        new("TASK", 24),
        new("STATUS", 8),
        new("EXPIRES AT", 20),
    ];

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant whose grants to list", HelpName = "TENANT", Required = true };
        var subject = new Option<string?>("--subject") { Description = "Only grants of this subject", HelpName = "SUBJECT" };
        var task = new Option<string?>("--task") { Description = "Only grants of this task", HelpName = "TASK_ID" };
        var limit = new Option<int?>("--limit") { Description = "Grants per request, 1-1000 (default: the broker's, 100)", HelpName = "N" };
        var all = new Option<bool>("--all") { Description = "Follow next_cursor until every grant is listed" };
        var consumer = new Option<string?>("--consumer-tenant") { Description = "Only the grants --tenant shares with this consuming tenant", HelpName = "TENANT" };
        var sharedBy = new Option<string?>("--shared-by") { Description = "The grants of --tenant's workloads of what this owning tenant shares with it", HelpName = "TENANT" };
        var command = new Command("list", "List a tenant's unexpired grants, newest expiry first") { tenant, subject, task, limit, all, consumer, sharedBy };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            globals,
            environment,
            parseResult,
            new Query(parseResult.GetRequiredValue(tenant), parseResult.GetValue(subject), parseResult.GetValue(task), parseResult.GetValue(limit), parseResult.GetValue(all))
            {
                ConsumerTenant = parseResult.GetValue(consumer),
                SharedBy = parseResult.GetValue(sharedBy),
            },
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, Query query, CancellationToken cancellationToken)
    {
        if (query.Subject is not null && query.TaskId is not null)
        {
            return environment.Usage("pass --subject or --task, not both");
        }

        if (query.ConsumerTenant is not null && query.SharedBy is not null)
        {
            return environment.Usage("pass --consumer-tenant or --shared-by, not both");
        }

        if (ArgumentChecks.First(
            ArgumentChecks.Value("--tenant", query.Tenant),
            ArgumentChecks.Value("--subject", query.Subject),
            ArgumentChecks.Value("--task", query.TaskId),
            ArgumentChecks.Value("--consumer-tenant", query.ConsumerTenant),
            ArgumentChecks.Value("--shared-by", query.SharedBy),
            ArgumentChecks.Limit(query.Limit)) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var json = parseResult.GetValue(globals.Json);
        var grants = new List<GrantView>();
        var bodies = new List<string>();
        var cursors = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var result = await client.ListGrantsAsync(query.Tenant, query.Subject, query.TaskId, query.Limit, cursor, cancellationToken, query.ConsumerTenant, query.SharedBy);
            if (result is ApiResult<GrantListView>.Failed failed)
            {
                return environment.Fail(failed.Failure);
            }

            var (page, body) = (ApiResult<GrantListView>.Ok)result;
            grants.AddRange(page.Grants);
            bodies.Add(body);
            cursor = page.NextCursor;
            if (cursor is not null && !cursors.Add(cursor))
            {
                // A cursor that comes back would page forever.
                return environment.Fail(ExitCodes.Unavailable, "the broker returned the same next_cursor twice; stopping");
            }
        }
        while (query.All && cursor is not null);

        if (json)
        {
            environment.Out.WriteLine(query.All ? MergePages(bodies) : bodies[0].Trim());
            return ExitCodes.Success;
        }

        if (grants.Count == 0)
        {
            environment.Out.WriteLine("No unexpired grants.");
        }
        else
        {
            Table.Write(environment.Out, Columns, grants.Select(g => new[]
            {
                Text.Printable(g.GrantId),
                Text.Printable(g.Subject),
                Text.List(g.Capabilities),
                Text.Printable(g.TaskId),
                Text.Printable(g.Status),
                Text.Timestamp(g.ExpiresAt),
            }).ToList());
        }

        if (cursor is not null)
        {
            environment.Error.WriteLine($"brokerctl: showing the first {grants.Count} grants; pass --all for the rest");
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// One <c>{"grants": [...], "next_cursor": null}</c> from every page, each grant copied exactly as
    /// the broker sent it (fields this version does not know included).
    /// </summary>
    private static string MergePages(List<string> bodies)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Text.JsonOutput))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("grants");
            foreach (var body in bodies)
            {
                using var document = JsonDocument.Parse(body);
                foreach (var grant in document.RootElement.GetProperty("grants").EnumerateArray())
                {
                    grant.WriteTo(writer);
                }
            }

            writer.WriteEndArray();
            writer.WriteNull("next_cursor");
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private sealed record Query(string Tenant, string? Subject, string? TaskId, int? Limit, bool All)
    {
        public string? ConsumerTenant { get; init; }

        public string? SharedBy { get; init; }
    }
}
