using Microsoft.Extensions.Options;

namespace Broker.Policy;

internal sealed class PolicyOptionsValidator : IValidateOptions<PolicyOptions>
{
    public ValidateOptionsResult Validate(string? name, PolicyOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            return ValidateOptionsResult.Fail("Broker:Policy:Path is required: the directory of policy files.");
        }

        if (options.MaxTokenLifetime <= TimeSpan.Zero || options.MaxTokenLifetime > TimeSpan.FromHours(24))
        {
            return ValidateOptionsResult.Fail("Broker:Policy:MaxTokenLifetime must be between 1 second and 24 hours.");
        }

        if (options.DefaultTokenLifetime <= TimeSpan.Zero || options.DefaultTokenLifetime > options.MaxTokenLifetime)
        {
            return ValidateOptionsResult.Fail("Broker:Policy:DefaultTokenLifetime must be positive and at most MaxTokenLifetime.");
        }

        return ValidateOptionsResult.Success;
    }
}
