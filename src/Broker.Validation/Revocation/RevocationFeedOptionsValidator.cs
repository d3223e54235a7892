// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>Fails start on a feed configuration that could not follow the broker safely.</summary>
internal sealed class RevocationFeedOptionsValidator : IValidateOptions<RevocationFeedOptions>
{
    public ValidateOptionsResult Validate(string? name, RevocationFeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Prefix = "Broker revocation feed:";
        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.Scheme))
        {
            errors.Add($"{Prefix} Scheme is required: the broker token scheme whose broker is followed.");
        }

        if (options.Credential is null)
        {
            errors.Add($"{Prefix} Credential is required: this server's own workload credential (JWT-SVID or OIDC token).");
        }

        if (options.MaxTokenLifetime < TimeSpan.FromMinutes(1) || options.MaxTokenLifetime > TimeSpan.FromDays(1))
        {
            errors.Add($"{Prefix} MaxTokenLifetime must be between 1 minute and 1 day.");
        }

        if (options.FreshnessWindow < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Prefix} FreshnessWindow must be at least 1 second.");
        }

        if (options.InitialReconnectDelay < TimeSpan.FromMilliseconds(100) || options.MaxReconnectDelay < options.InitialReconnectDelay)
        {
            errors.Add($"{Prefix} InitialReconnectDelay must be at least 100 ms and MaxReconnectDelay at least InitialReconnectDelay.");
        }

        if (options.MaxLineLength is < 256 or > 1024 * 1024 || options.MaxEventLength < options.MaxLineLength || options.MaxEventLength > 4 * 1024 * 1024)
        {
            errors.Add($"{Prefix} MaxLineLength must be between 256 and 1 Mi characters, MaxEventLength between MaxLineLength and 4 Mi.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
