using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Broker.Errors;
using Broker.Policy;
using Broker.Spiffe.Svids;
using Broker.Trust;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// An X509-SVID presented as the TLS client certificate (RFC 8705 §2): verified against the X.509
/// bundle of its own trust domain (X509-SVID spec §5, via <see cref="X509SvidVerifier"/>). The TLS
/// handshake already proved possession of the private key; the minted token is bound to the
/// certificate's SHA-256 thumbprint (<c>cnf.x5t#S256</c>).
/// </summary>
/// <remarks>Chosen by <see cref="SubjectTokenValidator"/> for <see cref="SubjectTokenTypes.X509Svid"/>.</remarks>
internal sealed class X509SvidSubjectValidator(TrustBundleRegistry bundles, TimeProvider timeProvider)
{
    public SubjectValidationResult Validate(X509Certificate2? clientCertificate, string claimedThumbprint, PolicySet policy)
    {
        if (clientCertificate is null)
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectNoClientCertificate);
        }

        var thumbprint = Thumbprint(clientCertificate);
        if (!CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.ASCII.GetBytes(thumbprint),
                System.Text.Encoding.ASCII.GetBytes(claimedThumbprint)))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCertificateMismatch);
        }

        if (!X509SvidVerifier.TryVerify([clientCertificate], bundles, out var id, out _, timeProvider))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectCertificateInvalid);
        }

        if (!policy.TrustDomains.ContainsKey(id.TrustDomain.Name))
        {
            return new SubjectValidationResult.Invalid(ErrorCatalog.SubjectUntrustedIssuer);
        }

        return new SubjectValidationResult.Valid(new WorkloadIdentity
        {
            Id = id.ToString(),
            Kind = IdentityKind.SpiffeX509,
            Source = id.TrustDomain.Name,
            Claims = new Dictionary<string, IReadOnlyList<string>>(),
            ExpiresAt = new DateTimeOffset(clientCertificate.NotAfter.ToUniversalTime(), TimeSpan.Zero),
            KeyId = thumbprint,
            CertificateThumbprint = thumbprint,
        });
    }

    /// <summary>RFC 8705 §3.1: base64url SHA-256 of the DER certificate.</summary>
    public static string Thumbprint(X509Certificate2 certificate) =>
        Base64UrlEncoder.Encode(SHA256.HashData(certificate.RawData));
}
