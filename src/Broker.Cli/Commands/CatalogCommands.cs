using System.CommandLine;
using System.Globalization;
using Broker.Cli.Api;
using Broker.Cli.Output;

namespace Broker.Cli.Commands;

/// <summary><c>catalog list [--resource URI] [--purpose P]</c>: what the token's workload may discover, and whether it could execute it now.</summary>
internal static class CatalogListCommand
{
    private static readonly Column[] Columns =
    [
        new("CAPABILITY", 28),
        new("RESOURCE", 40),
        new("EXECUTABLE", 24),
        new("PUBLISHED", 10),
        new("TOOLS", 40),
    ];

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var resource = new Option<string?>("--resource") { Description = "Only capabilities of this resource (MCP server URI)", HelpName = "URI" };
        var purpose = new Option<string?>("--purpose") { Description = "Whether each could be executed for this purpose", HelpName = "PURPOSE" };
        var command = new Command("list", "List the capabilities the token's workload may discover, and whether it could execute each now") { resource, purpose };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, environment, parseResult, parseResult.GetValue(resource), parseResult.GetValue(purpose), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string? resource, string? purpose, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.First(ArgumentChecks.Resource("--resource", resource), ArgumentChecks.Value("--purpose", purpose)) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.DiscoverAsync(resource, purpose, cancellationToken);
        if (result is ApiResult<CatalogView>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (view, body) = (ApiResult<CatalogView>.Ok)result;
        if (parseResult.GetValue(globals.Json))
        {
            environment.Out.WriteLine(body.Trim());
            return ExitCodes.Success;
        }

        environment.Out.WriteLine($"tenant {Text.Printable(view.Tenant)} (publishing: {Text.Printable(view.Publishing)}, discovery: {Text.Printable(view.Discovery)})");
        Table.Write(environment.Out, Columns, [.. view.Capabilities.Select(c => new[]
        {
            Text.Printable(c.Name),
            Text.Printable(c.Resource ?? c.Audience),
            c.Executable ? (c.Purposes is { Count: > 0 } purposes ? "yes, for " + string.Join(",", purposes) : "yes") : "no (" + Text.Printable(c.Reason) + ")",
            c.Published ? "v" + c.Version?.ToString(CultureInfo.InvariantCulture) : "no",
            Text.List([.. c.Tools.Select(t => t.Name)]),
        })]);
        return ExitCodes.Success;
    }
}

/// <summary><c>catalog show RESOURCE</c>: a resource's publication, as far as the token's workload may see it.</summary>
internal static class CatalogShowCommand
{
    private static readonly Column[] Columns =
    [
        new("TOOL", 28),
        new("CAPABILITY", 24),
        new("TITLE", 32),
        new("SCHEMA SHA-256", 16),
    ];

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var resource = new Argument<string>("RESOURCE") { Description = "The resource (MCP server URI, RFC 8707)" };
        var command = new Command("show", "Show what is published on a resource: version, publisher, tools") { resource };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, environment, parseResult, parseResult.GetRequiredValue(resource), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string resource, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.Resource("RESOURCE", resource) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.GetPublicationAsync(resource, cancellationToken);
        if (result is ApiResult<Publication>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (publication, body) = (ApiResult<Publication>.Ok)result;
        if (parseResult.GetValue(globals.Json))
        {
            environment.Out.WriteLine(body.Trim());
            return ExitCodes.Success;
        }

        CatalogOutput.WriteHeader(environment.Out, publication);
        Table.Write(environment.Out, Columns, [.. publication.Tools.Select(t => new[]
        {
            Text.Printable(t.Name),
            Text.Printable(t.Capability),
            Text.Printable(t.Title),
            Text.Printable(t.InputSchemaSha256),
        })]);
        return ExitCodes.Success;
    }
}

/// <summary><c>catalog publish RESOURCE --file TOOLS.json [--if-match VERSION]</c>.</summary>
internal static class CatalogPublishCommand
{
    /// <summary>Larger than the broker's default bound on a publish body, so the broker, not brokerctl, decides.</summary>
    private const long MaxFileBytes = 16 * 1024 * 1024;

    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var resource = new Argument<string>("RESOURCE") { Description = "The resource (MCP server URI, RFC 8707) the tools are served on" };
        var file = new Option<FileInfo>("--file") { Description = "The publication: {\"tools\": [{\"name\", \"capability\", \"title\", \"description\", \"input_schema_sha256\"}, ...]}", HelpName = "PATH", Required = true };
        var ifMatch = new Option<long?>("--if-match") { Description = "Only if the resource's entry is still at this version (its ETag)", HelpName = "VERSION" };
        var command = new Command("publish", "Publish the tools a resource serves, replacing what was published there") { resource, file, ifMatch };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, environment, parseResult, parseResult.GetRequiredValue(resource), parseResult.GetRequiredValue(file), parseResult.GetValue(ifMatch), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string resource, FileInfo file, long? ifMatch, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.First(ArgumentChecks.Resource("RESOURCE", resource), ifMatch is < 1 ? "--if-match must be a version of 1 or more" : null) is { } error)
        {
            return environment.Usage(error);
        }

        string body;
        try
        {
            if (file.Length > MaxFileBytes)
            {
                return environment.Usage($"{file.FullName} is larger than {MaxFileBytes / (1024 * 1024)} MiB");
            }

            body = await File.ReadAllTextAsync(file.FullName, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return environment.Usage($"cannot read {file.FullName}: {ex.Message}");
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.PublishAsync(resource, body, ifMatch, cancellationToken);
        if (result is ApiResult<Publication>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (publication, json) = (ApiResult<Publication>.Ok)result;
        if (parseResult.GetValue(globals.Json))
        {
            environment.Out.WriteLine(json.Trim());
            return ExitCodes.Success;
        }

        var changes = publication.Changes ?? new CatalogChanges();
        environment.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Published {publication.Tools.Count} tool{(publication.Tools.Count == 1 ? "" : "s")} on {Text.Printable(publication.Resource)}: version {publication.Version}."));
        CatalogOutput.WriteChanges(environment.Out, changes);
        return ExitCodes.Success;
    }
}

/// <summary><c>catalog unpublish RESOURCE [--if-match VERSION]</c>.</summary>
internal static class CatalogUnpublishCommand
{
    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var resource = new Argument<string>("RESOURCE") { Description = "The resource (MCP server URI, RFC 8707)" };
        var ifMatch = new Option<long?>("--if-match") { Description = "Only if the resource's entry is still at this version (its ETag)", HelpName = "VERSION" };
        var command = new Command("unpublish", "Remove what is published on a resource; where publication is required its capabilities stop being executable") { resource, ifMatch };
        command.SetAction((parseResult, cancellationToken) => RunAsync(globals, environment, parseResult, parseResult.GetRequiredValue(resource), parseResult.GetValue(ifMatch), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(GlobalOptions globals, CliEnvironment environment, ParseResult parseResult, string resource, long? ifMatch, CancellationToken cancellationToken)
    {
        if (ArgumentChecks.First(ArgumentChecks.Resource("RESOURCE", resource), ifMatch is < 1 ? "--if-match must be a version of 1 or more" : null) is { } error)
        {
            return environment.Usage(error);
        }

        using var client = globals.Connect(parseResult, environment);
        if (client is null)
        {
            return ExitCodes.Usage;
        }

        var result = await client.UnpublishAsync(resource, ifMatch, cancellationToken);
        if (result is ApiResult<Unpublished>.Failed failed)
        {
            return environment.Fail(failed.Failure);
        }

        var (unpublished, json) = (ApiResult<Unpublished>.Ok)result;
        environment.Out.WriteLine(parseResult.GetValue(globals.Json)
            ? json.Trim()
            : string.Create(CultureInfo.InvariantCulture, $"Unpublished {Text.Printable(unpublished.Resource)}: version {unpublished.Version}; withdrawn: {Text.List(unpublished.Withdrawn)}."));
        return ExitCodes.Success;
    }
}

/// <summary>Text shared by the catalog commands.</summary>
internal static class CatalogOutput
{
    public static void WriteHeader(TextWriter output, Publication publication)
    {
        List<(string Name, string Value)> fields =
        [
            ("tenant", Text.Printable(publication.Tenant)),
            ("resource", Text.Printable(publication.Resource)),
            ("version", publication.Version.ToString(CultureInfo.InvariantCulture)),
            ("published_by", Text.Printable(publication.PublishedBy)),
            ("published_at", Text.Timestamp(publication.PublishedAt)),
            ("policy_version", Text.Printable(publication.PolicyVersion)),
        ];
        var width = fields.Max(f => f.Name.Length);
        foreach (var (name, value) in fields)
        {
            output.WriteLine($"{name.PadRight(width)}  {value}");
        }
    }

    public static void WriteChanges(TextWriter output, CatalogChanges changes)
    {
        output.WriteLine($"  added:     {Text.List(changes.ToolsAdded)}");
        output.WriteLine($"  removed:   {Text.List(changes.ToolsRemoved)}");
        output.WriteLine($"  changed:   {Text.List(changes.ToolsChanged)}");
        output.WriteLine($"  withdrawn: {Text.List(changes.Withdrawn)}");
    }
}
