// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Tls;

/// <summary>
/// Decides whether an authenticated peer SPIFFE ID may connect (go-spiffe's tlsconfig authorizers). Runs only
/// after the peer's X509-SVID has been verified against the bundle of its trust domain.
/// </summary>
public delegate bool SpiffeIdAuthorizer(SpiffeId peer);

/// <summary>Common authorizers.</summary>
public static class SpiffeIdAuthorizers
{
    /// <summary>Any verified SPIFFE ID from any trusted trust domain. Only for tests or when authorisation happens later.</summary>
    public static SpiffeIdAuthorizer Any { get; } = static _ => true;

    /// <summary>Exactly this ID.</summary>
    public static SpiffeIdAuthorizer Id(SpiffeId expected) => peer => peer == expected;

    /// <summary>One of these IDs.</summary>
    public static SpiffeIdAuthorizer OneOf(params IEnumerable<SpiffeId> allowed)
    {
        var set = allowed.ToHashSet();
        return set.Contains;
    }

    /// <summary>Any ID in this trust domain.</summary>
    public static SpiffeIdAuthorizer MemberOf(TrustDomain trustDomain) => peer => peer.IsMemberOf(trustDomain);
}
