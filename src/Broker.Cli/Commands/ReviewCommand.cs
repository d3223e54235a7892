using System.CommandLine;
using System.Globalization;
using System.Text;
using Broker.Cli.Api;
using Broker.Cli.Output;
using Broker.Policy.Review;

namespace Broker.Cli.Commands;

/// <summary><c>review --tenant T [--days N] [--format table|json|html] [--output FILE]</c>: the tenant's access review.</summary>
internal static class ReviewCommand
{
    private static readonly Column[] CapabilityColumns =
    [
        new("CAPABILITY", 28),
        new("PUBLISHERS", 40),
        new("EXECUTE RULES", 40),
        new("GRANTS", 8),
        new("IDENTITIES", 10),
    ];

    private static readonly Column[] UnusedColumns = [new("CAPABILITY", 28), new("RULE", 36), new("WHERE", 24), new("SUBJECT", 48)];

    private static readonly Column[] PartialColumns = [new("IDENTITY", 48), new("RULE", 36), new("UNUSED", 40)];

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant to review", HelpName = "TENANT", Required = true };
        var days = new Option<int?>("--days") { Description = $"How many UTC days of grants to count, 1-{ReviewLimits.MaxDays} (default {ReviewLimits.DefaultDays})", HelpName = "N" };
        var format = new Option<string>("--format") { Description = "table, json (the broker's answer) or html (a self-contained page)", HelpName = "FORMAT", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "html");
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write the report to this file instead of standard output", HelpName = "FILE" };
        var command = new Command("review", "Inventory and access review of a tenant: capabilities, who may use them, who did, and unused entitlements")
        {
            tenant, days, format, output,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            globals,
            environment,
            parseResult,
            parseResult.GetRequiredValue(tenant),
            parseResult.GetValue(days),
            parseResult.GetValue(globals.Json) ? "json" : parseResult.GetValue(format)!,
            parseResult.GetValue(output),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string tenant, int? days, string format, FileInfo? output, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.First(
            ArgumentChecks.Value("--tenant", tenant),
            days is < 1 or > ReviewLimits.MaxDays ? $"--days must be 1-{ReviewLimits.MaxDays}" : null) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.GetReviewAsync(tenant, days, cancellationToken);
        if (result is ApiResult<AccessReview>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (review, body) = (ApiResult<AccessReview>.Ok)result;
        var report = format switch
        {
            "json" => body.Trim() + "\n",
            "html" => ReviewHtml.Render(review),
            _ => Table(review),
        };
        if (output is null)
        {
            environment.Out.Write(report);
            return ExitCodes.Success;
        }

        try
        {
            await File.WriteAllTextAsync(output.FullName, report, new UTF8Encoding(false), cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return environment.Fail(ExitCodes.Refused, $"cannot write {output.FullName}: {e.Message}");
        }

        environment.Out.WriteLine($"Wrote the access review of {Text.Printable(review.Tenant)} to {output.FullName}.");
        return ExitCodes.Success;
    }

    private static string Table(AccessReview review)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tenant {Text.Printable(review.Tenant)}, {review.Days} days ({review.From:yyyy-MM-dd} to {review.To:yyyy-MM-dd}), {review.Usage.Grants} grants counted, policy {Text.Printable(review.PolicyVersion)}"));
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"counts lag grants by up to {review.Usage.FlushIntervalSeconds} s"));
        if (review.Usage.Overflow > 0)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warning: {review.Usage.Overflow} grants counted without their identity (daily cap reached); identities and unused entitlements may be incomplete"));
        }

        if (review.Truncated)
        {
            writer.WriteLine("warning: some lists were cut at their caps");
        }

        writer.WriteLine();
        Output.Table.Write(writer, CapabilityColumns, review.Capabilities.Select(c => new[]
        {
            Text.Printable(c.Name),
            Text.List([.. c.Publishers.Select(p => p.PublishedBy)]),
            Text.List([.. c.Rules.Where(r => r.Permissions.Contains("execute")).Select(r => r.Name)]),
            c.Grants.ToString(CultureInfo.InvariantCulture),
            c.UsedBy.Count.ToString(CultureInfo.InvariantCulture) + (c.UsedByTruncated ? "+" : ""),
        }).ToList());
        writer.WriteLine();
        if (review.UnusedEntitlements.Count == 0)
        {
            writer.WriteLine("No unused entitlements.");
        }
        else
        {
            writer.WriteLine("Unused entitlements (execute given, no grant in the window):");
            Output.Table.Write(writer, UnusedColumns, review.UnusedEntitlements.Select(u => new[] { Text.Printable(u.Capability), Text.Printable(u.Rule), Text.Printable(u.Source), Text.Printable(u.Subject) }).ToList());
        }

        if (review.PartialUse.Count > 0)
        {
            writer.WriteLine();
            writer.WriteLine("Partly used rules:");
            Output.Table.Write(writer, PartialColumns, review.PartialUse.Select(p => new[] { Text.Printable(p.Identity), Text.Printable(p.Rule), Text.List(p.Unused) }).ToList());
        }

        return writer.ToString();
    }
}
