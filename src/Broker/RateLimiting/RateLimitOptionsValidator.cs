using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.RateLimiting;

/// <summary>Fails the start on a rate that does not parse or a bound out of range.</summary>
internal sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (!RateLimit.TryParse(options.PerIdentity, out _))
        {
            errors.Add("Broker:RateLimits:PerIdentity must be a rate such as 100/s, 600/m or 1000/h, or off.");
        }

        if (!RateLimit.TryParse(options.PerTenant, out _))
        {
            errors.Add("Broker:RateLimits:PerTenant must be a rate such as 1000/s, 6000/m or 100000/h, or off.");
        }

        if (options.MaxPartitions is < 100 or > 1_000_000)
        {
            errors.Add("Broker:RateLimits:MaxPartitions must be from 100 to 1000000.");
        }

        if (options.FailedAuthentication.Limit is < 0 or > RateLimit.MaxPermits)
        {
            errors.Add($"Broker:RateLimits:FailedAuthentication:Limit must be from 0 (off) to {RateLimit.MaxPermits}.");
        }

        if (options.FailedAuthentication.Window < TimeSpan.FromSeconds(1) || options.FailedAuthentication.Window > TimeSpan.FromHours(1))
        {
            errors.Add("Broker:RateLimits:FailedAuthentication:Window must be from 1 second to 1 hour.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
