using Broker.Spiffe.WorkloadApi;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

internal sealed class SpiffeAgentOptionsValidator : IValidateOptions<SpiffeAgentOptions>
{
    public ValidateOptionsResult Validate(string? name, SpiffeAgentOptions options)
    {
        var endpoint = options.ResolvedEndpoint;
        if (endpoint is not null && !WorkloadApiAddress.TryParse(endpoint, out _, out var error))
        {
            return ValidateOptionsResult.Fail($"Broker:Spiffe:EndpointSocket: {error}");
        }

        if (options.ServeTls && endpoint is null)
        {
            return ValidateOptionsResult.Fail("Broker:Spiffe:ServeTls needs the Workload API: set Broker:Spiffe:EndpointSocket or SPIFFE_ENDPOINT_SOCKET.");
        }

        if (options.StartupTimeout <= TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail("Broker:Spiffe:StartupTimeout must be positive.");
        }

        return ValidateOptionsResult.Success;
    }
}
