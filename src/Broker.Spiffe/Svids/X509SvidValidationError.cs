// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Svids;

/// <summary>Why an X509-SVID was rejected (spec §2). Values are stable; add new ones at the end.</summary>
public enum X509SvidValidationError
{
    /// <summary>The chain is empty.</summary>
    EmptyChain = 1,

    /// <summary>The leaf does not have exactly one URI SAN, or its SAN extension is malformed.</summary>
    InvalidUriSan,

    /// <summary>The URI SAN is not a valid SPIFFE ID.</summary>
    InvalidSpiffeId,

    /// <summary>The SPIFFE ID has no path (it names a trust domain, not a workload).</summary>
    RootId,

    /// <summary>The leaf is a CA certificate.</summary>
    LeafIsCa,

    /// <summary>The leaf has keyCertSign or cRLSign.</summary>
    LeafCanSign,

    /// <summary>The leaf lacks digitalSignature.</summary>
    MissingDigitalSignature,

    /// <summary>No bundle for the leaf's trust domain.</summary>
    UnknownTrustDomain,

    /// <summary>An intermediate is not a CA with keyCertSign, or carries a SPIFFE ID with a path.</summary>
    InvalidIntermediate,

    /// <summary>RFC 5280 path validation against the trust domain's bundle failed (untrusted, expired, broken chain).</summary>
    ChainNotTrusted,
}
