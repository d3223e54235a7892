// Broker.Spiffe — SPIFFE for .NET.

using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Internal;
using Broker.Spiffe.Svids;
using Broker.Spiffe.WorkloadApi;

namespace Broker.Spiffe.Tls;

/// <summary>
/// SslStream options for mutual TLS with X509-SVIDs (go-spiffe's tlsconfig.MTLSServerConfig/MTLSClientConfig).
/// The local side presents the source's current SVID; the peer must present an X509-SVID that verifies against
/// the bundle of its own trust domain (spec §2) and passes the authorizer. Web PKI host name checks do not apply.
/// </summary>
/// <remarks>
/// Build options per connection (for Kestrel: <c>ListenOptions.UseHttps(new TlsHandshakeCallbackOptions { OnConnection = … })</c>)
/// so that a rotated SVID is used as soon as the source has it. The certificate context of an SVID is built once and reused.
/// </remarks>
public static class SpiffeTls
{
    private static readonly ConditionalWeakTable<X509Svid, SslStreamCertificateContext> Contexts = [];

    /// <summary>Server options: present the current SVID, require and verify a client X509-SVID.</summary>
    /// <exception cref="InvalidOperationException">The source has no SVID now.</exception>
    public static SslServerAuthenticationOptions CreateMtlsServerOptions(X509Source source, SpiffeIdAuthorizer authorizer)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(authorizer);
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = ContextFor(source.GetX509Svid()),
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => VerifyPeer(certificate, chain, source, authorizer),
        };
    }

    /// <summary>Client options: present the current SVID, verify the server's X509-SVID.</summary>
    /// <exception cref="InvalidOperationException">The source has no SVID now.</exception>
    public static SslClientAuthenticationOptions CreateMtlsClientOptions(X509Source source, SpiffeIdAuthorizer authorizer)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(authorizer);
        return new SslClientAuthenticationOptions
        {
            ClientCertificateContext = ContextFor(source.GetX509Svid()),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => VerifyPeer(certificate, chain, source, authorizer),
        };
    }

    /// <summary>
    /// Client options that verify the server's X509-SVID but present no certificate (TLS, not mTLS), for a client
    /// that only trusts bundles.
    /// </summary>
    public static SslClientAuthenticationOptions CreateTlsClientOptions(IX509BundleSource bundles, SpiffeIdAuthorizer authorizer)
    {
        ArgumentNullException.ThrowIfNull(bundles);
        ArgumentNullException.ThrowIfNull(authorizer);
        return new SslClientAuthenticationOptions
        {
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => VerifyPeer(certificate, chain, bundles, authorizer),
        };
    }

    /// <summary>Verifies a peer certificate from a TLS callback and returns its SPIFFE ID; for custom TLS stacks.</summary>
    public static bool TryVerifyPeer(X509Certificate? certificate, X509Chain? chain, IX509BundleSource bundles, out SpiffeId id)
    {
        id = default;
        var presented = PeerCertificates.FromCallback(certificate, chain);
        return presented is not null && X509SvidVerifier.TryVerify(presented, bundles, out id, out _);
    }

    private static bool VerifyPeer(X509Certificate? certificate, X509Chain? chain, IX509BundleSource bundles, SpiffeIdAuthorizer authorizer) =>
        // The platform's own verdict (sslPolicyErrors) is ignored on purpose: it judges against the machine's
        // Web PKI roots and host names, neither of which means anything for an X509-SVID.
        TryVerifyPeer(certificate, chain, bundles, out var id) && authorizer(id);

    private static SslStreamCertificateContext ContextFor(X509Svid svid) =>
        Contexts.GetValue(svid, static s => SslStreamCertificateContext.Create(
            s.Certificate,
            new X509Certificate2Collection(s.Certificates.Skip(1).ToArray()),
            offline: true));
}
