// Broker.Spiffe — SPIFFE for .NET.

using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Broker.Spiffe.Internal;

/// <summary>Reads URI SANs from a certificate.</summary>
/// <remarks>
/// Written by hand because <see cref="X509SubjectAlternativeNameExtension"/> only enumerates DNS names and IP
/// addresses. The decoding itself is <see cref="AsnReader"/>'s: GeneralNames is a SEQUENCE of GeneralName,
/// and uniformResourceIdentifier is the implicitly tagged [6] IA5String (RFC 5280 §4.2.1.6).
/// </remarks>
internal static class CertificateIdentity
{
    private const string SubjectAltNameOid = "2.5.29.17";
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>Returns the URI SANs, or null when the SAN extension is malformed.</summary>
    public static List<string>? GetUris(X509Certificate2 cert)
    {
        var uris = new List<string>();
        foreach (var ext in cert.Extensions)
        {
            if (ext.Oid?.Value != SubjectAltNameOid)
            {
                continue;
            }

            try
            {
                var reader = new AsnReader(ext.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    if (tag.HasSameClassAndValue(UriTag))
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                return null;
            }
        }

        return uris;
    }

    /// <summary>Gets the SPIFFE ID of an X509-SVID: exactly one URI SAN, and it must be a SPIFFE ID (X509-SVID §2).</summary>
    public static bool TryGetSpiffeId(X509Certificate2 cert, out SpiffeId id, out int uriCount)
    {
        id = default;
        var uris = GetUris(cert);
        uriCount = uris?.Count ?? -1;
        return uris is { Count: 1 } && SpiffeId.TryParse(uris[0], out id);
    }
}
