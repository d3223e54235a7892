using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.StatusList;

/// <summary>
/// The URI of each tenant's status list: <c>{issuer}/statuslists/v1/{tenant}</c>. The same string is the <c>uri</c> in
/// every token of the tenant and the <c>sub</c> of its list token (draft-ietf-oauth-status-list §5.1, §6.2), so a
/// verifier can match them by simple string comparison. Tenant names are <c>a-z 0-9 . _ -</c> (the policy loader's
/// rule), which need no escaping in a path segment.
/// </summary>
internal sealed class StatusListUris(IOptions<BrokerOptions> broker)
{
    /// <summary>The route prefix; a list is at <c>{Path}/{tenant}</c>.</summary>
    public const string Path = "/statuslists/v1";

    /// <summary>What every list URI starts with, advertised in the metadata as <c>status_list_endpoint</c>.</summary>
    public string Base { get; } = broker.Value.Issuer!.TrimEnd('/') + Path;

    /// <summary>The list URI of <paramref name="tenant"/>.</summary>
    public string For(string tenant) => string.Concat(Base, "/", tenant);
}
