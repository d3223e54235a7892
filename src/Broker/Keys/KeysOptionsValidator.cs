using Microsoft.Extensions.Options;

namespace Broker.Keys;

/// <summary>Refuses to start without a signing key rather than silently generating one.</summary>
internal sealed class KeysOptionsValidator : IValidateOptions<KeysOptions>
{
    public ValidateOptionsResult Validate(string? name, KeysOptions options)
    {
        if (options.SigningKeyFiles.Count == 0 && !options.AllowEphemeralKey)
        {
            return ValidateOptionsResult.Fail(
                "Broker:Keys:SigningKeyFiles is empty. Configure at least one EC P-256 PEM key file " +
                "(or set Broker:Keys:AllowEphemeralKey=true for a single throw-away process).");
        }

        foreach (var file in options.SigningKeyFiles)
        {
            if (!File.Exists(file))
            {
                return ValidateOptionsResult.Fail($"Broker:Keys:SigningKeyFiles: '{file}' does not exist.");
            }
        }

        if (options.JwksMaxAge < TimeSpan.Zero || options.JwksMaxAge > TimeSpan.FromDays(1))
        {
            return ValidateOptionsResult.Fail("Broker:Keys:JwksMaxAge must be between 0 and 1 day.");
        }

        return ValidateOptionsResult.Success;
    }
}
