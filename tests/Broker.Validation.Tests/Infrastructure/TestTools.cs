using System.ComponentModel;
using System.Text.Json;
using Broker.Validation.Mcp;
using ModelContextProtocol.Server;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>Counts tool runs, so tests can tell a refused call never reached its tool.</summary>
public sealed class ToolRuns
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Add() => Interlocked.Increment(ref _count);
}

/// <summary>The tools of the test MCP server, one per shape of capability requirement.</summary>
[McpServerToolType]
public sealed class TestTools
{
    [McpServerTool(Name = "read_file", ReadOnly = true), Description("Reads a file.")]
    [RequiresCapability("files.read")]
    public static string ReadFile(string path, ToolRuns runs)
    {
        runs.Add();
        return $"contents of {path}";
    }

    [McpServerTool(Name = "list_files", ReadOnly = true), Description("Lists the files.")]
    [RequiresCapability("files.read")]
    public static string ListFiles(ToolRuns runs)
    {
        runs.Add();
        return "notes.txt";
    }

    [McpServerTool(Name = "write_file", Destructive = true), Description("Writes a file.")]
    [RequiresCapability("files.write")]
    public static string WriteFile(string path, string content, ToolRuns runs)
    {
        runs.Add();
        return $"wrote {content.Length} characters to {path}";
    }

    [McpServerTool(Name = "move_file", Destructive = true), Description("Moves a file: reads it, writes it elsewhere.")]
    [RequiresCapability("files.write")]
    [RequiresCapability("files.read")]
    public static string MoveFile(string from, string to, ToolRuns runs)
    {
        runs.Add();
        return $"moved {from} to {to}";
    }

    /// <summary>The caller's context as the tool sees it, from DI.</summary>
    [McpServerTool(Name = "whoami", ReadOnly = true), Description("Who is calling.")]
    [RequiresCapability("files.read")]
    public static string WhoAmI(BrokerCaller caller, ToolRuns runs)
    {
        runs.Add();
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["grant_id"] = caller.GrantId,
            ["subject"] = caller.Subject,
            ["client_id"] = caller.ClientId,
            ["tenant"] = caller.Tenant,
            ["task_id"] = caller.TaskId,
            ["purpose"] = caller.Purpose,
            ["actors"] = caller.ActorChain,
            ["capabilities"] = caller.Capabilities.Order(StringComparer.Ordinal).ToArray(),
            ["key_thumbprint"] = caller.KeyThumbprint,
            ["context"] = caller.Context.ToString(),
            ["autonomous"] = caller.Context.IsAutonomous,
            ["user"] = caller.Context.User,
            ["agent"] = caller.Context.Agent,
            ["service"] = caller.Context.Service,
        });
    }
}
