using Microsoft.Extensions.Options;

namespace Broker.Policy;

/// <summary>Checks the policy settings, naming every problem at once (the files themselves are checked at start).</summary>
internal sealed class PolicyOptionsValidator : IValidateOptions<PolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyOptions options)
    {
        List<string> failures = [];
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add("Broker:Policy:Path is required: the directory of policy files.");
        }

        if (options.MaxTokenLifetime <= TimeSpan.Zero || options.MaxTokenLifetime > TimeSpan.FromHours(24))
        {
            failures.Add("Broker:Policy:MaxTokenLifetime must be between 1 second and 24 hours.");
        }
        else if (options.DefaultTokenLifetime <= TimeSpan.Zero || options.DefaultTokenLifetime > options.MaxTokenLifetime)
        {
            failures.Add("Broker:Policy:DefaultTokenLifetime must be positive and at most MaxTokenLifetime.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
