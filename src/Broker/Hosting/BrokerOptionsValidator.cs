using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>Fails start on an issuer that verifiers could not trust.</summary>
internal sealed class BrokerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Issuer) || !Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer))
        {
            return ValidateOptionsResult.Fail("Broker:Issuer is required: the https URL verifiers will see as 'iss'.");
        }

        if (issuer.Query.Length > 0 || issuer.Fragment.Length > 0)
        {
            return ValidateOptionsResult.Fail("Broker:Issuer must not have a query or fragment (RFC 8414 §2).");
        }

        // Plain http is tolerated for a loopback dev broker only.
        if (issuer.Scheme != Uri.UriSchemeHttps && !(options.DevMode && issuer.IsLoopback))
        {
            return ValidateOptionsResult.Fail("Broker:Issuer must use https.");
        }

        return ValidateOptionsResult.Success;
    }
}
