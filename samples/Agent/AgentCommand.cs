// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.CommandLine;
using Broker.Client;
using Broker.Spiffe;
using Broker.Spiffe.WorkloadApi;

namespace Agent;

/// <summary>
/// The command line. Every default points at the local quickstart: the <c>--dev</c> broker on 127.0.0.1:5080 and
/// samples/McpServer's dev profile on 127.0.0.1:5090, whose policy is samples/dev/policy/dev.yaml.
/// </summary>
internal static class AgentCommand
{
    public const string DevIdentity = "dev";
    public const string WorkloadApiIdentity = "workload-api";

    public static RootCommand Create(TextWriter stdout, TextWriter stderr)
    {
        var broker = new Option<string>("--broker") { Description = "The broker's URL (its issuer)", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var mcp = new Option<string>("--mcp") { Description = "The MCP server's Streamable HTTP endpoint", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:5090/mcp" };
        var resource = new Option<string>("--resource") { Description = "The MCP server's resource URI (RFC 8707): the aud of its tokens", HelpName = "URI", DefaultValueFactory = _ => "https://mcp.dev.localhost/mcp" };
        var identity = new Option<string?>("--identity")
        {
            Description = $"Where the workload credential comes from: '{DevIdentity}' (the --dev broker's dev identity source) or '{WorkloadApiIdentity}' (SPIFFE_ENDPOINT_SOCKET); default {WorkloadApiIdentity} when SPIFFE_ENDPOINT_SOCKET is set, else {DevIdentity}",
            HelpName = "SOURCE",
        };
        identity.AcceptOnlyFromAmong(DevIdentity, WorkloadApiIdentity);
        var spiffeId = new Option<string?>("--spiffe-id") { Description = "Who the agent is: the dev SVID's SPIFFE ID (default spiffe://dev.localhost/agents/demo), or which of the Workload API's identities (default its first)", HelpName = "ID" };
        var audience = new Option<string?>("--audience") { Description = "Audience of the Workload API's JWT-SVID (default: the broker URL)", HelpName = "AUD" };
        var task = new Option<string>("--task") { Description = "The task the capabilities are for (task_id)", HelpName = "ID", DefaultValueFactory = _ => "demo-1" };
        var purpose = new Option<string>("--purpose") { Description = "Why the task runs (purpose); the writer may write for 'code-change'", HelpName = "PURPOSE", DefaultValueFactory = _ => "triage" };
        var scope = new Option<string>("--scope") { Description = "The capabilities asked for first, space-separated", HelpName = "SCOPE", DefaultValueFactory = _ => "files.read" };
        var tool = new Option<string>("--tool") { Description = "The tool to call with them", HelpName = "NAME", DefaultValueFactory = _ => "read_file" };
        var stepUpTool = new Option<string>("--step-up-tool") { Description = "Then a tool that may need more: on 403 insufficient_scope the agent asks the broker for it and retries", HelpName = "NAME", DefaultValueFactory = _ => "write_file" };
        var watch = new Option<bool>("--watch-revocation") { Description = "After the first call, call the tool every 100 ms with the same grant until it is refused (revoke it meanwhile); print how long that took" };
        var watchTimeout = new Option<int>("--watch-timeout") { Description = "Longest watch, in seconds", HelpName = "SECONDS", DefaultValueFactory = _ => 60 };

        var root = new RootCommand("A sample agent: gets a workload credential, exchanges it at the broker for one task's capability, calls MCP tools with it, steps up when a tool needs more, and ends the task.")
        {
            broker, mcp, resource, identity, spiffeId, audience, task, purpose, scope, tool, stepUpTool, watch, watchTimeout,
        };
        root.SetAction(async (parseResult, cancellationToken) =>
        {
            string? error;
            AgentSettings? settings;
            try
            {
                (settings, error) = Settings(
                    parseResult.GetRequiredValue(broker),
                    parseResult.GetRequiredValue(mcp),
                    parseResult.GetRequiredValue(resource),
                    parseResult.GetValue(identity),
                    parseResult.GetValue(spiffeId),
                    parseResult.GetValue(audience),
                    parseResult.GetRequiredValue(task),
                    parseResult.GetRequiredValue(purpose),
                    parseResult.GetRequiredValue(scope),
                    parseResult.GetRequiredValue(tool),
                    parseResult.GetRequiredValue(stepUpTool),
                    parseResult.GetValue(watch),
                    parseResult.GetValue(watchTimeout));
            }
            catch (ArgumentException ex)
            {
                // CapabilityRequest says precisely which grammar rule a value broke.
                (settings, error) = (null, ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal));
            }

            if (settings is null)
            {
                await stderr.WriteLineAsync($"agent: {error}");
                return ExitCodes.Usage;
            }

            return await new AgentRun(settings, new Narrative(stdout)).RunAsync(cancellationToken);
        });
        return root;
    }

    private static (AgentSettings? Settings, string? Error) Settings(
        string broker, string mcp, string resource, string? identity, string? spiffeId, string? audience, string task, string purpose,
        string scope, string tool, string stepUpTool, bool watch, int watchTimeout)
    {
        if (HttpUrl(broker) is not { } brokerUrl || brokerUrl.Query.Length > 0)
        {
            return (null, $"--broker '{broker}' is not an absolute http(s) URL without query or fragment.");
        }

        if (HttpUrl(mcp) is not { } mcpUrl)
        {
            return (null, $"--mcp '{mcp}' is not an absolute http(s) URL without fragment.");
        }

        var kind = identity ?? (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable)) ? DevIdentity : WorkloadApiIdentity);
        SpiffeId? id = null;
        if (spiffeId is not null || kind == DevIdentity)
        {
            var value = spiffeId ?? "spiffe://dev.localhost/agents/demo";
            if (!SpiffeId.TryParse(value, out var parsed))
            {
                return (null, $"--spiffe-id '{value}' is not a SPIFFE ID (spiffe://trust-domain/path).");
            }

            id = parsed;
        }

        if (tool.Length is 0 or > 128 || stepUpTool.Length is 0 or > 128)
        {
            return (null, "--tool and --step-up-tool are tool names of 1-128 characters.");
        }

        if (watchTimeout is < 1 or > 3600)
        {
            return (null, "--watch-timeout must be 1-3600 seconds.");
        }

        // The broker's grammar, checked here so a mistake is a usage error rather than an invalid_request round trip.
        var first = new CapabilityRequest(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)) { Resource = resource, TaskId = task, Purpose = purpose };
        var issuer = brokerUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return (new AgentSettings
        {
            Broker = new Uri(issuer + "/"),
            McpEndpoint = mcpUrl,
            Identity = kind,
            SpiffeId = id,
            Audience = audience ?? issuer,
            FirstRequest = first,
            Tool = tool,
            StepUpTool = stepUpTool,
            WatchRevocation = watch,
            WatchTimeout = TimeSpan.FromSeconds(watchTimeout),
        }, null);
    }

    private static Uri? HttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.UserInfo.Length == 0 && uri.Fragment.Length == 0
            ? uri
            : null;
}

/// <summary>One run's configuration, checked.</summary>
internal sealed record AgentSettings
{
    /// <summary>The broker's base URL, ending in '/'.</summary>
    public required Uri Broker { get; init; }

    public required Uri McpEndpoint { get; init; }

    /// <summary><see cref="AgentCommand.DevIdentity"/> or <see cref="AgentCommand.WorkloadApiIdentity"/>.</summary>
    public required string Identity { get; init; }

    /// <summary>The dev SVID's identity; with the Workload API, the identity to pick (null: the default one).</summary>
    public SpiffeId? SpiffeId { get; init; }

    /// <summary>The audience of a Workload API JWT-SVID: the broker's issuer.</summary>
    public required string Audience { get; init; }

    /// <summary>The first exchange: resource, capabilities, task and purpose.</summary>
    public required CapabilityRequest FirstRequest { get; init; }

    public required string Tool { get; init; }

    public required string StepUpTool { get; init; }

    public bool WatchRevocation { get; init; }

    public TimeSpan WatchTimeout { get; init; }

    public static TimeSpan WatchInterval { get; } = TimeSpan.FromMilliseconds(100);

    public Uri TokenEndpoint => new(Broker, "oauth2/token");

    public Uri RevocationEndpoint => new(Broker, "oauth2/revoke");

    public string TaskId => FirstRequest.TaskId!;
}
