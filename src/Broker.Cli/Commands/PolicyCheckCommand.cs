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
                    WriteSharing(writer, policy.Sharing);
                })
                : $"{directory}: valid, {policy.Tenants.Count} tenant{(policy.Tenants.Count == 1 ? "" : "s")} ({string.Join(", ", policy.Tenants.Keys.Order(StringComparer.Ordinal))}), version {policy.Version}");
            if (!json)
            {
                PrintSharing(environment, directory, policy.Sharing);
            }

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

    /// <summary>
    /// Both sides of sharing across tenants (docs/sharing.md): what each owner shares out and each consumer accepts in,
    /// and, as warnings on standard error, one-sided entries, through which nothing crosses.
    /// </summary>
    private static void PrintSharing(CliEnvironment environment, DirectoryInfo directory, TenantSharing sharing)
    {
        foreach (var share in sharing.Active)
        {
            environment.Out.WriteLine(
                $"shared: {share.Owner} shares {share.Capability} with {share.Consumer} ({Permissions(share.Permissions)}{Subjects(share)}); "
                + $"{share.Consumer} accepts it as {TenantSharing.QualifiedName(share.Owner, share.Capability)}");
        }

        foreach (var share in sharing.OneSidedShares)
        {
            environment.Error.WriteLine(
                $"{Located(directory, share.Location)}: warning: {share.Owner} shares {share.Capability} with {share.Consumer}, which does not accept it: nothing crosses");
        }

        foreach (var acceptance in sharing.OneSidedAcceptances)
        {
            environment.Error.WriteLine(
                $"{Located(directory, acceptance.Location)}: warning: {acceptance.Consumer} accepts {acceptance.Capability} from {acceptance.Owner}, which does not share it with {acceptance.Consumer}: nothing crosses");
        }
    }

    private static void WriteSharing(Utf8JsonWriter writer, TenantSharing sharing)
    {
        writer.WriteStartArray("shared");
        foreach (var share in sharing.Active)
        {
            writer.WriteStartObject();
            writer.WriteString("owner", share.Owner);
            writer.WriteString("consumer", share.Consumer);
            writer.WriteString("capability", share.Capability);
            writer.WriteString("permissions", Permissions(share.Permissions));
            writer.WriteStartArray("subjects");
            foreach (var pattern in share.Subjects)
            {
                writer.WriteStringValue(pattern.ToString());
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("warnings");
        foreach (var share in sharing.OneSidedShares)
        {
            writer.WriteStringValue($"{share.Location}: {share.Owner} shares {share.Capability} with {share.Consumer}, which does not accept it: nothing crosses");
        }

        foreach (var acceptance in sharing.OneSidedAcceptances)
        {
            writer.WriteStringValue($"{acceptance.Location}: {acceptance.Consumer} accepts {acceptance.Capability} from {acceptance.Owner}, which does not share it with {acceptance.Consumer}: nothing crosses");
        }

        writer.WriteEndArray();
    }

    private static string Permissions(CapabilityPermissions permissions) =>
        (permissions & (CapabilityPermissions.Discover | CapabilityPermissions.Execute)) switch
        {
            CapabilityPermissions.Discover => "discover",
            CapabilityPermissions.Execute => "execute",
            _ => "discover, execute",
        };

    private static string Subjects(CapabilityShare share) =>
        share.Subjects.Count == 0 ? "" : $", for {string.Join(", ", share.Subjects.Select(s => s.ToString()))}";

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
