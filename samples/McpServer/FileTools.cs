// samples/McpServer — an MCP server whose tools need broker capabilities.

using System.ComponentModel;
using Broker.Validation;
using Broker.Validation.Mcp;
using ModelContextProtocol.Server;

namespace McpServer;

/// <summary>
/// The tools. Each names the broker capability it needs; the names match the <c>tools:</c> of the capabilities in
/// samples/dev/policy/dev.yaml.
/// </summary>
[McpServerToolType]
internal sealed class FileTools
{
    [McpServerTool(Name = "list_files", ReadOnly = true), Description("Lists the files.")]
    [RequiresCapability("files.read")]
    public static IReadOnlyList<string> ListFiles(FileStore files) => files.List();

    [McpServerTool(Name = "read_file", ReadOnly = true), Description("Reads a file.")]
    [RequiresCapability("files.read")]
    public static string ReadFile(FileStore files, [Description("The file's name.")] string path) =>
        files.Read(path) ?? throw new ArgumentException($"No file named '{path}'.", nameof(path));

    [McpServerTool(Name = "write_file", Destructive = true), Description("Writes a file, replacing it if it exists.")]
    [RequiresCapability("files.write")]
    public static string WriteFile(FileStore files, BrokerCaller caller, [Description("The file's name.")] string path, [Description("The new contents.")] string content)
    {
        // The caller's context is there for the tool's own decisions and records; it carries no token. Context says who
        // caused the call (user=… agent=…, or service=… for an autonomous workload), as the audit line does.
        files.Write(path, content, $"{caller.Context} for task {caller.TaskId} ({caller.Purpose})");
        return $"Wrote {content.Length} characters to {path}.";
    }
}
