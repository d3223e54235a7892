using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Broker.IntegrationTests.StatusList;

/// <summary>
/// Runs <c>tests/statuslist-node/decode.mjs</c>: node and the npm package <c>@sd-jwt/jwt-status-list</c> decode a list
/// token, an implementation that shares nothing with the broker's. Fails (never skips) when node or the package is
/// missing, saying how to install them.
/// </summary>
internal static class StatusListNode
{
    private static readonly string Directory = typeof(StatusListNode).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "StatusListNodeDirectory").Value!;

    public static async Task<Decoded> DecodeAsync(string jwt, IEnumerable<int> indexes, CancellationToken cancellationToken)
    {
        Assert.True(
            File.Exists(Path.Combine(Directory, "node_modules", "@sd-jwt", "jwt-status-list", "package.json")),
            $"The status list decoder is not installed: run `npm ci` in {Path.GetFullPath(Directory)} (.ci/run does).");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("decode.mjs");
        foreach (var index in indexes)
        {
            start.ArgumentList.Add(index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"node is not on PATH ({e.Message}): install Node.js 20 or later (apt-get install -y nodejs npm).");
            throw;
        }

        using (process)
        {
            await process.StandardInput.WriteAsync(jwt);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"node decode.mjs failed: {await error}");
            using var json = JsonDocument.Parse(await output);
            var statuses = json.RootElement.GetProperty("statuses").EnumerateObject()
                .ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt32());
            return new Decoded(json.RootElement.GetProperty("size").GetInt32(), statuses);
        }
    }

    internal sealed record Decoded(int Size, IReadOnlyDictionary<int, int> Statuses);
}
