using Microsoft.Extensions.Options;

namespace Broker.Tokens;

/// <summary>Fails start on an issuer that verifiers could not trust, naming every problem at once.</summary>
internal sealed class BrokerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Issuer) || !Uri.TryCreate(options.Issuer, UriKind.Absolute, out var issuer))
        {
            return ValidateOptionsResult.Fail("Broker:Issuer is required: the https URL verifiers will see as 'iss'.");
        }

        List<string> failures = [];
        if (issuer.Query.Length > 0 || issuer.Fragment.Length > 0)
        {
            failures.Add("Broker:Issuer must not have a query or fragment (RFC 8414 §2).");
        }

        // Plain http is tolerated for a loopback dev broker only.
        if (issuer.Scheme != Uri.UriSchemeHttps && !(options.DevMode && issuer.IsLoopback))
        {
            failures.Add("Broker:Issuer must use https.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
