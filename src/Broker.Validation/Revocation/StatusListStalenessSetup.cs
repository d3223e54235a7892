// Broker.Validation — resource servers honour broker tokens.

using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>
/// Makes a status list fail closed by default: the followed scheme's <see cref="RevocationPolicy.MaxStaleness"/>,
/// when the application left it unset, becomes <see cref="StatusListOptions.MaxAge"/>. One staleness rule for every
/// revocation source; <see cref="RevocationPolicy.AllowWhenStale"/> opens it.
/// </summary>
internal sealed class StatusListStalenessSetup(IOptions<StatusListOptions> statusList) : IPostConfigureOptions<BrokerTokenOptions>
{
    public void PostConfigure(string? name, BrokerTokenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.Equals(name, statusList.Value.Scheme, StringComparison.Ordinal))
        {
            options.Revocation.MaxStaleness ??= statusList.Value.MaxAge;
        }
    }
}
