using Microsoft.Extensions.Options;

namespace Broker.Subjects;

internal sealed class SubjectsOptionsValidator : IValidateOptions<SubjectsOptions>
{
    public ValidateOptionsResult Validate(string? name, SubjectsOptions options)
    {
        List<string> failures = [];
        if (options.MaxTokenLength is < 256 or > 65536)
        {
            failures.Add("Broker:Subjects:MaxTokenLength must be between 256 and 65536.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add("Broker:Subjects:ClockSkew must be between 0 and 5 minutes.");
        }

        if (options.MinimumKeyRefreshInterval < TimeSpan.FromSeconds(1))
        {
            failures.Add("Broker:Subjects:MinimumKeyRefreshInterval must be at least 1 second.");
        }

        // Also the longest a key removed from an issuer's JWKS keeps validating cached tokens.
        if (options.KeyRefreshInterval < TimeSpan.FromSeconds(1) || options.KeyRefreshInterval > TimeSpan.FromHours(24))
        {
            failures.Add("Broker:Subjects:KeyRefreshInterval must be between 1 second and 24 hours.");
        }

        if (options.FetchTimeout <= TimeSpan.Zero || options.FetchTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add("Broker:Subjects:FetchTimeout must be between 0 and 1 minute.");
        }

        if (options.ValidationCache.MaxEntries is < 1 or > 10_000_000)
        {
            failures.Add("Broker:Subjects:ValidationCache:MaxEntries must be between 1 and 10,000,000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
