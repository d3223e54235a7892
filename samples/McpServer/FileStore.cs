// samples/McpServer — an MCP server whose tools need broker capabilities.

using System.Collections.Concurrent;

namespace McpServer;

/// <summary>An in-memory set of files, seeded with two, so the sample needs no disk.</summary>
internal sealed class FileStore
{
    private readonly ConcurrentDictionary<string, (string Content, string WrittenBy)> _files = new(StringComparer.Ordinal)
    {
        ["README.md"] = ("A sample file served by the MCP sample.", "seed"),
        ["notes.txt"] = ("Capabilities are granted per task.", "seed"),
    };

    public IReadOnlyList<string> List() => [.. _files.Keys.Order(StringComparer.Ordinal)];

    public string? Read(string path) => _files.TryGetValue(path, out var file) ? file.Content : null;

    public void Write(string path, string content, string writtenBy)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(content.Length, 64 * 1024);
        _files[path] = (content, writtenBy);
    }
}
