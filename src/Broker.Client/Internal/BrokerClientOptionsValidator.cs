// Broker.Client — the agent side of the Broker.

using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Client.Internal;

/// <summary>Refuses incomplete or insecure client configuration before the first exchange.</summary>
internal sealed class BrokerClientOptionsValidator : IValidateOptions<BrokerClientOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerClientOptions options)
    {
        var errors = Errors(options).ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws <see cref="ArgumentException"/> with every problem of <paramref name="options"/>.</summary>
    public static void ThrowIfInvalid(BrokerClientOptions options)
    {
        var errors = Errors(options).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid broker client options: " + string.Join(" ", errors), nameof(options));
        }
    }

    private static IEnumerable<string> Errors(BrokerClientOptions options)
    {
        // The subject token is a bearer credential: it goes over TLS, or stays on this machine.
        if (options.TokenEndpoint is null)
        {
            yield return "TokenEndpoint is required.";
        }
        else if (!IsSecureEndpoint(options.TokenEndpoint))
        {
            yield return $"TokenEndpoint '{options.TokenEndpoint}' must be an absolute https URI (http only on a loopback host) without user info or fragment.";
        }

        if (options.SubjectTokenSource is null)
        {
            yield return "SubjectTokenSource is required.";
        }

        if (options.DefaultTaskId is not null && !Grammar.IsTaskContextValue(options.DefaultTaskId))
        {
            yield return $"DefaultTaskId '{options.DefaultTaskId}' is not 1-{Grammar.MaxTaskContextLength} characters of A-Z a-z 0-9 . _ : / -.";
        }

        if (options.DefaultPurpose is not null && !Grammar.IsTaskContextValue(options.DefaultPurpose))
        {
            yield return $"DefaultPurpose '{options.DefaultPurpose}' is not 1-{Grammar.MaxTaskContextLength} characters of A-Z a-z 0-9 . _ : / -.";
        }

        if (options.DefaultLifetime is { } lifetime && (lifetime < TimeSpan.FromSeconds(1) || lifetime.Ticks % TimeSpan.TicksPerSecond != 0))
        {
            yield return "DefaultLifetime must be a whole number of seconds, at least one.";
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            yield return "MaxRetries must be between 0 and 10.";
        }

        if (options.MaxRetryDelay < TimeSpan.Zero)
        {
            yield return "MaxRetryDelay must not be negative.";
        }

        if (options.RefreshMargin < TimeSpan.Zero)
        {
            yield return "RefreshMargin must not be negative.";
        }

        if (!(options.RefreshFraction is >= 0 and <= 0.9))
        {
            yield return "RefreshFraction must be between 0 and 0.9.";
        }

        if (options.MaxCachedTokens < 1)
        {
            yield return "MaxCachedTokens must be at least 1.";
        }
    }

    /// <summary>An endpoint the subject token may be sent to: https, or http on a loopback host only.</summary>
    private static bool IsSecureEndpoint(Uri endpoint) =>
        endpoint.IsAbsoluteUri
        && endpoint.UserInfo.Length == 0
        && endpoint.Fragment.Length == 0
        && (endpoint.Scheme == Uri.UriSchemeHttps || (endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback));
}
