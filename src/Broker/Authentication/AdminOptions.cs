namespace Broker.Authentication;

/// <summary>Administration, bound from <c>Broker:Admin</c>.</summary>
internal sealed class AdminOptions
{
    /// <summary>
    /// Admins who act on every tenant, each named with the identity source that must vouch for it (checked at
    /// start): <c>spiffe://trust-domain/path</c> (policy wildcards allowed) is matched only by a JWT-SVID or
    /// X509-SVID of that trust domain, never by an OIDC token that renders the same string;
    /// <c>oidc:https://issuer#subject</c> only by a token of exactly that issuer whose mapped identity
    /// matches <c>subject</c>. Empty by default: tenant admins are named in each tenant's policy (<c>admins:</c>).
    /// </summary>
    public IList<string> GlobalAdmins { get; } = [];
}
