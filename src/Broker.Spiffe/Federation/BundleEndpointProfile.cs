// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Federation;

/// <summary>How a bundle endpoint authenticates itself (SPIFFE Federation §5; spec §4).</summary>
public enum BundleEndpointProfile
{
    /// <summary><c>https_web</c>: ordinary Web PKI server authentication (RFC 6125 host name checks).</summary>
    HttpsWeb = 1,

    /// <summary><c>https_spiffe</c>: the server presents an X509-SVID with the configured endpoint SPIFFE ID.</summary>
    HttpsSpiffe,
}
