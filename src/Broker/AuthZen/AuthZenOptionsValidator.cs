using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.AuthZen;

/// <summary>Refuses an AuthZEN configuration that cannot work, before the first request. Reports every problem.</summary>
internal sealed class AuthZenOptionsValidator : IValidateOptions<AuthZenOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthZenOptions options)
    {
        List<string> failures = [];
        if (!DecisionPointHosts.TryCreate(options.AllowedHosts, out _, out var invalid))
        {
            // The entries are echoed: they are operator configuration, not secrets.
            failures.Add($"{AuthZenOptions.SectionName}:AllowedHosts entries must each be a host name or IP literal with an optional port (no scheme, path, wildcard or spaces): {string.Join(", ", invalid.Select(e => $"'{e}'"))}.");
        }

        if (options.SecretsDirectory is { Length: > 0 } directory && (!Path.IsPathFullyQualified(directory) || !Directory.Exists(directory)))
        {
            failures.Add($"{AuthZenOptions.SectionName}:SecretsDirectory must be an absolute path to an existing directory.");
        }

        if (options.MaxConcurrentRequests is < 1 or > 1024)
        {
            failures.Add($"{AuthZenOptions.SectionName}:MaxConcurrentRequests must be between 1 and 1024.");
        }

        if (options.MaxResponseBytes is < 1024 or > 1024 * 1024)
        {
            failures.Add($"{AuthZenOptions.SectionName}:MaxResponseBytes must be between 1024 and 1048576.");
        }

        if (options.FailuresToOpenCircuit is < 1 or > 1000)
        {
            failures.Add($"{AuthZenOptions.SectionName}:FailuresToOpenCircuit must be between 1 and 1000.");
        }

        if (options.OpenCircuitFor < TimeSpan.FromSeconds(1) || options.OpenCircuitFor > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{AuthZenOptions.SectionName}:OpenCircuitFor must be between 1 second and 10 minutes.");
        }

        if (options.DecisionCacheSize is < 1 or > 1_000_000)
        {
            failures.Add($"{AuthZenOptions.SectionName}:DecisionCacheSize must be between 1 and 1000000.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
