using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broker.Testing.DPoP;

/// <summary>
/// Runs <c>tests/dpop-node/proofs.mjs</c>: node and the npm package <c>dpop</c> make proofs, with an implementation that
/// shares nothing with Broker.Jose. Throws (so the calling test fails, never skips) when node or the package is missing,
/// saying how to install them.
/// </summary>
public static class DPoPNode
{
    private static readonly string Directory = typeof(DPoPNode).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "DPoPNodeDirectory").Value!;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<IReadOnlyList<Proof>> MakeProofsAsync(IEnumerable<Request> requests, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(Directory, "node_modules", "dpop", "package.json")))
        {
            throw new InvalidOperationException(
                $"The npm dpop package is not installed: run `npm ci --ignore-scripts` in {Path.GetFullPath(Directory)} (.ci/run does).");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("proofs.mjs");

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"node is not on PATH ({e.Message}): install Node.js 20 or later (apt-get install -y nodejs npm).", e);
        }

        using (process)
        {
            await process.StandardInput.WriteAsync(JsonSerializer.Serialize(requests, JsonOptions));
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"node proofs.mjs failed: {await error}");
            }

            return JsonSerializer.Deserialize<Proof[]>(await output, JsonOptions)!;
        }
    }

    /// <summary>
    /// One proof to make; requests with the same <paramref name="Alg"/> share a key pair, unless one brings its own
    /// (<paramref name="PrivateJwk"/>, ES256 or PS256).
    /// </summary>
    public sealed record Request(string Alg, string Htm, string Htu, string? AccessToken = null, string? Nonce = null, System.Text.Json.Nodes.JsonObject? PrivateJwk = null);

    /// <summary>A proof, and the RFC 7638 thumbprint of its key as the package computes it.</summary>
    public sealed record Proof([property: JsonPropertyName("proof")] string Value, string Jkt);
}
