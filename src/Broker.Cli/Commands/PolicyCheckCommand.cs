using System.CommandLine;
using System.Text;
using System.Text.Json;
using Broker.Cli.Output;
using Broker.Policy;

namespace Broker.Cli.Commands;

/// <summary><c>policy check DIR</c>: compiles a policy directory offline with the broker's own loader.</summary>
internal static class PolicyCheckCommand
{
    public static Command Create(GlobalOptions globals, CliEnvironment environment)
    {
        var directory = new Argument<DirectoryInfo>("DIR") { Description = "The policy directory (every *.yaml and *.yml under it)" };
        var dev = new Option<bool>("--dev") { Description = "Check as a --dev broker loads it: accept 'bundle: dev' and http:// URLs on loopback" };
        var insecureLoopback = new Option<bool>("--allow-insecure-loopback")
        {
            Description = "Accept http:// issuers, bundle endpoints and resources on loopback, as a broker with Broker:Policy:AllowInsecureLoopbackUrls=true does",
        };
        var workloadApi = new Option<bool>("--workload-api") { Description = "Accept 'bundle: workload_api' (the broker has a SPIFFE Workload API endpoint)" };
        var allowedHosts = new Option<string[]>("--authzen-allowed-host")
        {
            Description = "A host (or host:port) decision points may name, as the broker's Broker:AuthZen:AllowedHosts lists; repeat for several. None: decision points are refused",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("check", "Check a policy directory; errors are printed as file:line:column: message") { directory, dev, insecureLoopback, workloadApi, allowedHosts };
        command.SetAction(parseResult =>
        {
            if (!DecisionPointHosts.TryCreate(parseResult.GetValue(allowedHosts) ?? [], out var hosts, out var invalid))
            {
                return environment.Usage($"--authzen-allowed-host takes a host or host:port, not '{invalid[0]}'");
            }

            return Run(
                environment,
                parseResult.GetValue(globals.Json),
                parseResult.GetRequiredValue(directory),
                PolicyLoadOptions.Default with
                {
                    // The settings of the broker the policy is for: --dev implies insecure loopback URLs, as it does there.
                    AllowDevIssuer = parseResult.GetValue(dev),
                    AllowInsecureLoopbackUrls = parseResult.GetValue(dev) || parseResult.GetValue(insecureLoopback),
                    WorkloadApiConfigured = parseResult.GetValue(workloadApi),
                    DecisionPointHosts = hosts,
                });
        });
        return command;
    }

    private static int Run(CliEnvironment environment, bool json, DirectoryInfo directory, PolicyLoadOptions options)
    {
        if (!directory.Exists)
        {
            return environment.Usage($"the policy directory '{directory}' does not exist");
        }

        var result = PolicyLoader.Load(directory.FullName, options);
        if (result.Succeeded)
        {
            var policy = result.Policy!;
            environment.Out.WriteLine(json
                ? Json(writer =>
                {
                    writer.WriteBoolean("valid", true);
                    writer.WriteString("version", policy.Version);
                    writer.WriteStartArray("tenants");
                    foreach (var tenant in policy.Tenants.Keys.Order(StringComparer.Ordinal))
                    {
                        writer.WriteStringValue(tenant);
                    }

                    writer.WriteEndArray();
                })
                : $"{directory}: valid, {policy.Tenants.Count} tenant{(policy.Tenants.Count == 1 ? "" : "s")} ({string.Join(", ", policy.Tenants.Keys.Order(StringComparer.Ordinal))}), version {policy.Version}");
            return ExitCodes.Success;
        }

        // Paths relative to the directory as given, so the lines link from where the command was run.
        var errors = result.Errors.Select(e => e with { File = Located(directory, e.File) }).ToList();
        if (json)
        {
            environment.Out.WriteLine(Json(writer =>
            {
                writer.WriteBoolean("valid", false);
                writer.WriteStartArray("errors");
                foreach (var error in errors)
                {
                    writer.WriteStartObject();
                    writer.WriteString("file", error.File);
                    writer.WriteNumber("line", error.Line);
                    writer.WriteNumber("column", error.Column);
                    writer.WriteString("message", error.Message);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }));
        }
        else
        {
            foreach (var error in errors)
            {
                environment.Out.WriteLine(error.ToString());
            }
        }

        return environment.Fail(ExitCodes.PolicyErrors, $"{errors.Count} error{(errors.Count == 1 ? "" : "s")} in policy directory '{directory}'{Hint(directory, options)}");
    }

    /// <summary>
    /// When the directory fails only on what a broker configured for local use allows (samples/dev/policy is written
    /// for --dev), says which option checks it as what it is; otherwise nothing.
    /// </summary>
    private static string Hint(DirectoryInfo directory, PolicyLoadOptions options)
    {
        var loopback = options with { AllowInsecureLoopbackUrls = true };
        if (loopback != options && PolicyLoader.Load(directory.FullName, loopback).Succeeded)
        {
            return " (it is valid with http:// URLs on loopback allowed: --allow-insecure-loopback)";
        }

        var dev = loopback with { AllowDevIssuer = true };
        return dev != options && PolicyLoader.Load(directory.FullName, dev).Succeeded
            ? " (it is valid for a --dev broker: --dev)"
            : "";
    }

    private static string Located(DirectoryInfo directory, string file) =>
        Path.IsPathRooted(file) ? file : Path.Join(directory.ToString(), file);

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Text.JsonOutput))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
