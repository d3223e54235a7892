// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>Fails start on a status list configuration that could not follow the broker safely.</summary>
internal sealed class StatusListOptionsValidator : IValidateOptions<StatusListOptions>
{
    public ValidateOptionsResult Validate(string? name, StatusListOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = "Broker status list:";
        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.Scheme))
        {
            errors.Add($"{Prefix} Scheme is required: the broker token scheme whose broker and tenant are followed.");
        }

        if (options.Capacity is < 8 or > 1 << 27 || options.Capacity % 8 != 0)
        {
            errors.Add($"{Prefix} Capacity must be a multiple of 8 between 8 and 134,217,728.");
        }

        if (options.MaxAge < TimeSpan.FromSeconds(1) || options.MaxAge > TimeSpan.FromDays(1))
        {
            errors.Add($"{Prefix} MaxAge must be between 1 second and 1 day.");
        }

        if (options.MaxPollInterval < TimeSpan.FromSeconds(1) || options.MaxPollInterval > TimeSpan.FromHours(1) || options.MaxPollInterval >= options.MaxAge)
        {
            errors.Add($"{Prefix} MaxPollInterval must be between 1 second and 1 hour, and below MaxAge (else the list goes stale between polls).");
        }

        if (options.InitialRetryDelay < TimeSpan.FromMilliseconds(100) || options.MaxRetryDelay < options.InitialRetryDelay)
        {
            errors.Add($"{Prefix} InitialRetryDelay must be at least 100 ms and MaxRetryDelay at least InitialRetryDelay.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
