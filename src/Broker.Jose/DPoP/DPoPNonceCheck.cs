// Broker.Jose — DPoP (RFC 9449).

namespace Broker.Jose.DPoP;

/// <summary>What <see cref="DPoPNonce.Check"/> found.</summary>
public enum DPoPNonceCheck
{
    /// <summary>Issued by this server (or a replica sharing its key) in the current, previous or next time step.</summary>
    Valid = 0,

    /// <summary>No nonce.</summary>
    Missing,

    /// <summary>Not a nonce this server issued: wrong form, wrong key, altered, or from a step too far ahead.</summary>
    Invalid,

    /// <summary>Issued by this server, but more than one step ago.</summary>
    Stale,
}
