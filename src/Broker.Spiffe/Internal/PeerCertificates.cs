// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography.X509Certificates;

namespace Broker.Spiffe.Internal;

/// <summary>Recovers the chain a TLS peer presented from an SslStream validation callback.</summary>
internal static class PeerCertificates
{
    /// <summary>
    /// The leaf first, then the peer's other certificates, which .NET places in the callback chain's extra store.
    /// Returns null when the peer sent no certificate.
    /// </summary>
    public static List<X509Certificate2>? FromCallback(X509Certificate? certificate, X509Chain? chain)
    {
        if (certificate is not X509Certificate2 leaf)
        {
            return null;
        }

        var presented = new List<X509Certificate2> { leaf };
        if (chain is not null)
        {
            presented.AddRange(chain.ChainPolicy.ExtraStore.Where(c => !c.RawData.AsSpan().SequenceEqual(leaf.RawData)));
        }

        return presented;
    }
}
