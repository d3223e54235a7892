// Broker.Spiffe — SPIFFE for .NET.

using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Spiffe.Internal;

/// <summary>Splits concatenated DER certificates, the encoding the Workload API uses (spec §1).</summary>
internal static class DerCertificates
{
    /// <summary>The most certificates accepted in one blob; a bound, not a SPIFFE rule.</summary>
    public const int MaxCertificates = 256;

    public static List<X509Certificate2> Split(ReadOnlySpan<byte> der, string component)
    {
        var certs = new List<X509Certificate2>();
        try
        {
            while (!der.IsEmpty)
            {
                if (certs.Count == MaxCertificates)
                {
                    throw new FormatException($"{component}: too many certificates.");
                }

                // ReadEncodedValue finds where one DER value ends; the loader then parses exactly that value,
                // so trailing garbage cannot hide inside a certificate.
                AsnDecoder.ReadEncodedValue(der, AsnEncodingRules.DER, out _, out _, out var consumed);
                certs.Add(X509CertificateLoader.LoadCertificate(der[..consumed]));
                der = der[consumed..];
            }
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            foreach (var cert in certs)
            {
                cert.Dispose();
            }

            throw new FormatException($"{component}: malformed DER certificate data.", ex);
        }

        return certs;
    }
}
