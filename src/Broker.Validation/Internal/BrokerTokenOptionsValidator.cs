// Broker.Validation — resource servers honour broker tokens.

using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Broker.Validation.Internal;

/// <summary>Fails start on configuration that could not validate a token safely.</summary>
internal sealed partial class BrokerTokenOptionsValidator : IValidateOptions<BrokerTokenOptions>
{
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    public ValidateOptionsResult Validate(string? name, BrokerTokenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefix = $"Broker token scheme '{name}':";
        var errors = new List<string>();

        // Only the configured broker is ever fetched (no SSRF through token contents), and it is fetched
        // over TLS: the JWKS decides which signatures we trust.
        if (options.Broker is not { IsAbsoluteUri: true } broker || (broker.Scheme != Uri.UriSchemeHttps && broker.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add($"{prefix} Broker is required: the broker's issuer URL, e.g. https://broker.example.org.");
        }
        else
        {
            if (broker.Query.Length > 0 || broker.Fragment.Length > 0 || broker.UserInfo.Length > 0)
            {
                errors.Add($"{prefix} Broker must not have user info, a query or a fragment (RFC 8414 §2).");
            }

            if (broker.Scheme != Uri.UriSchemeHttps && !(options.AllowInsecureLoopbackBroker && broker.IsLoopback))
            {
                errors.Add($"{prefix} Broker must use https (plain http only on a loopback host with AllowInsecureLoopbackBroker).");
            }
        }

        // RFC 8707 §2: an absolute URI without fragment; the broker mints resources as https only.
        if (!Uri.TryCreate(options.Resource, UriKind.Absolute, out var resource) || resource.Scheme != Uri.UriSchemeHttps
            || resource.Fragment.Length > 0 || options.Resource!.Contains('#', StringComparison.Ordinal))
        {
            errors.Add($"{prefix} Resource is required: this server's canonical https URI without fragment, e.g. https://mcp.example.org/mcp.");
        }

        if (options.Tenant is null || !TenantGrammar().IsMatch(options.Tenant))
        {
            errors.Add($"{prefix} Tenant is required: the tenant this server serves (a-z 0-9 . _ -, 1-128 characters).");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > MaxClockSkew)
        {
            errors.Add($"{prefix} ClockSkew must be between 0 and 5 minutes.");
        }

        if (options.MinimumKeyRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{prefix} MinimumKeyRefreshInterval must be at least 1 second.");
        }

        if (options.KeyRefreshInterval < TimeSpan.FromMinutes(1))
        {
            errors.Add($"{prefix} KeyRefreshInterval must be at least 1 minute.");
        }

        if (options.FetchTimeout <= TimeSpan.Zero || options.FetchTimeout > TimeSpan.FromMinutes(2))
        {
            errors.Add($"{prefix} FetchTimeout must be positive and at most 2 minutes.");
        }

        if (options.MaxTokenLength is < 256 or > 65536)
        {
            errors.Add($"{prefix} MaxTokenLength must be between 256 and 65536.");
        }

        if (options.ResourceMetadataUri is { } metadata && (!metadata.IsAbsoluteUri || (metadata.Scheme != Uri.UriSchemeHttps && metadata.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add($"{prefix} ResourceMetadataUri must be an absolute http(s) URL.");
        }

        if (options.Revocation.MaxStaleness is { } staleness && staleness < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{prefix} Revocation.MaxStaleness must be at least 1 second when set.");
        }

        ValidateDPoP(prefix, options.DPoP, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateDPoP(string prefix, DPoPPolicy dpop, List<string> errors)
    {
        // RFC 9449 §11.6: asymmetric algorithms of the JOSE allow-list only; none, HMAC or unknown ones never.
        if (dpop.Algorithms.Count == 0 || !dpop.Algorithms.All(Broker.Jose.JoseAlgorithms.IsAllowed))
        {
            errors.Add($"{prefix} DPoP.Algorithms must be a non-empty list of {string.Join(", ", Broker.Jose.JoseAlgorithms.Allowed)}.");
        }

        if (dpop.MaxProofAge < TimeSpan.FromSeconds(1) || dpop.MaxProofAge > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{prefix} DPoP.MaxProofAge must be between 1 second and 10 minutes.");
        }

        if (dpop.ClockSkew < TimeSpan.Zero || dpop.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{prefix} DPoP.ClockSkew must be between 0 and 5 minutes.");
        }

        // An origin only: the request's path base and path are appended to it.
        if (dpop.PublicOrigin is { } origin
            && (!origin.IsAbsoluteUri || (origin.Scheme != Uri.UriSchemeHttps && origin.Scheme != Uri.UriSchemeHttp)
                || origin.AbsolutePath != "/" || origin.Query.Length > 0 || origin.Fragment.Length > 0 || origin.UserInfo.Length > 0))
        {
            errors.Add($"{prefix} DPoP.PublicOrigin must be an http(s) origin without path, query or fragment, e.g. https://mcp.example.org.");
        }

        if (dpop.NonceKey is { Length: < Broker.Jose.DPoP.DPoPNonceOptions.MinimumKeyLength })
        {
            errors.Add($"{prefix} DPoP.NonceKey must be at least {Broker.Jose.DPoP.DPoPNonceOptions.MinimumKeyLength} random bytes.");
        }

        if (dpop.NonceStep < TimeSpan.FromSeconds(10) || dpop.NonceStep > TimeSpan.FromHours(1))
        {
            errors.Add($"{prefix} DPoP.NonceStep must be between 10 seconds and 1 hour.");
        }
    }

    // The broker's tenant grammar (docs/policy.md).
    [GeneratedRegex("^[a-z0-9._-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex TenantGrammar();
}
