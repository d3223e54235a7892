using Broker.Jose.DPoP;
using Microsoft.Extensions.Options;

namespace Broker.DPoP;

/// <summary>Refuses a DPoP configuration that cannot work or would weaken the checks, before the first request. Reports every problem.</summary>
internal sealed class DPoPOptionsValidator : IValidateOptions<DPoPOptions>
{
    public ValidateOptionsResult Validate(string? name, DPoPOptions options)
    {
        List<string> failures = [];
        if (options.MaxAge < TimeSpan.FromSeconds(1) || options.MaxAge > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{DPoPOptions.SectionName}:MaxAge must be between 1 second and 10 minutes.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{DPoPOptions.SectionName}:ClockSkew must be between 0 and 5 minutes.");
        }

        if (options.Algorithms is { Length: > 0 } algorithms)
        {
            try
            {
                _ = new DPoPProofValidatorOptions { Algorithms = algorithms };
            }
            catch (ArgumentException)
            {
                failures.Add($"{DPoPOptions.SectionName}:Algorithms must name asymmetric algorithms the broker accepts (ES256, ES384, ES512, PS256, PS384, PS512, RS256, RS384, RS512).");
            }
        }

        if (options.NonceStep < TimeSpan.FromSeconds(10) || options.NonceStep > TimeSpan.FromHours(1))
        {
            failures.Add($"{DPoPOptions.SectionName}:NonceStep must be between 10 seconds and 1 hour.");
        }

        if (options.NonceKeyFile is { Length: > 0 } file)
        {
            if (!File.Exists(file))
            {
                failures.Add($"{DPoPOptions.SectionName}:NonceKeyFile: '{file}' does not exist.");
            }
            else if (new FileInfo(file).Length is < DPoPNonceOptions.MinimumKeyLength or > 4096)
            {
                failures.Add($"{DPoPOptions.SectionName}:NonceKeyFile: '{file}' must hold {DPoPNonceOptions.MinimumKeyLength} to 4096 random bytes.");
            }
        }

        if (options.ReplayCacheCapacity < 1000)
        {
            failures.Add($"{DPoPOptions.SectionName}:ReplayCacheCapacity must be at least 1000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
