// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Spiffe.Internal;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Spiffe.Bundles;

/// <summary>
/// A SPIFFE bundle: the X.509 and JWT authorities of one trust domain plus the publisher's refresh hint
/// and sequence number, in the JWK Set format of SPIFFE Trust Domain and Bundle §4 (spec §4). Immutable.
/// </summary>
/// <remarks>
/// The document does not name its trust domain; the caller supplies it from configuration (spec §4).
/// Input is bounded to <see cref="JwtBundle.MaxJsonSize"/> (1 MiB) because bundles arrive from federation endpoints.
/// </remarks>
public sealed class SpiffeBundle
{
    /// <summary>The <c>use</c> value of an X.509 authority entry.</summary>
    public const string X509SvidUse = "x509-svid";

    /// <summary>The <c>use</c> value of a JWT authority entry.</summary>
    public const string JwtSvidUse = "jwt-svid";

    private const string Component = "spiffebundle";

    /// <summary>Creates a bundle from its parts.</summary>
    /// <exception cref="ArgumentException">The trust domain is zero, a key is invalid, or the refresh hint or sequence number is negative.</exception>
    public SpiffeBundle(
        TrustDomain trustDomain,
        IEnumerable<X509Certificate2> x509Authorities,
        IEnumerable<KeyValuePair<string, JsonWebKey>> jwtAuthorities,
        TimeSpan? refreshHint = null,
        long? sequenceNumber = null)
    {
        if (refreshHint < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(refreshHint), "spiffebundle: refresh hint is negative.");
        }

        if (sequenceNumber < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceNumber), "spiffebundle: sequence number is negative.");
        }

        TrustDomain = trustDomain;
        X509Bundle = new X509Bundle(trustDomain, x509Authorities);
        JwtBundle = new JwtBundle(trustDomain, jwtAuthorities);
        RefreshHint = refreshHint;
        SequenceNumber = sequenceNumber;
    }

    /// <summary>The trust domain the bundle belongs to.</summary>
    public TrustDomain TrustDomain { get; }

    /// <summary>The X.509 authorities (entries with <c>use</c> = <c>x509-svid</c>).</summary>
    public X509Bundle X509Bundle { get; }

    /// <summary>The JWT authorities (entries with <c>use</c> = <c>jwt-svid</c>).</summary>
    public JwtBundle JwtBundle { get; }

    /// <summary>How often the publisher suggests polling for a new bundle (<c>spiffe_refresh_hint</c>), if given.</summary>
    public TimeSpan? RefreshHint { get; }

    /// <summary>The publisher's monotonic sequence number (<c>spiffe_sequence</c>), if given.</summary>
    public long? SequenceNumber { get; }

    /// <summary>
    /// Parses a SPIFFE bundle document (spec §4): <c>keys</c> required; each entry needs <c>kty</c> and
    /// <c>use</c>; entries with an unknown <c>kty</c> or <c>use</c> are ignored; an <c>x509-svid</c> entry
    /// contributes the first certificate of its <c>x5c</c> (skipped when empty); a <c>jwt-svid</c> entry must
    /// have a <c>kid</c>; unknown members are ignored.
    /// </summary>
    /// <exception cref="SpiffeBundleFormatException">The document is malformed (message prefixed <c>spiffebundle:</c>).</exception>
    public static SpiffeBundle Parse(TrustDomain trustDomain, ReadOnlySpan<byte> json)
    {
        if (trustDomain.IsZero)
        {
            throw new ArgumentException("spiffebundle: trust domain is empty.", nameof(trustDomain));
        }

        using var doc = JwkSetReader.Open(json, Component);
        var x509 = new List<X509Certificate2>();
        var jwt = new List<KeyValuePair<string, JsonWebKey>>();
        var kids = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var element in JwkSetReader.Keys(doc, Component))
            {
                // "use" is REQUIRED and case-sensitive; an unknown value (e.g. a future "wit-svid") is ignored (spec §4).
                var use = JwkSetReader.GetOptionalString(element, "use", Component)
                    ?? throw new SpiffeBundleFormatException("spiffebundle: key entry has no \"use\".");
                if (use is not (X509SvidUse or JwtSvidUse))
                {
                    continue;
                }

                var key = JwkSetReader.ToJsonWebKey(element, Component);
                if (key is null)
                {
                    continue;
                }

                if (use == X509SvidUse)
                {
                    // One base64 DER CA certificate; consumers skip an empty x5c and use only the first (spec §4).
                    if (key.X5c.Count == 0)
                    {
                        continue;
                    }

                    var cert = LoadCertificate(key.X5c[0]);
                    x509.Add(cert);

                    // The certificate is the authority; its key must be of the type the entry declares, which also
                    // keeps ToJson() able to write every parsed bundle back.
                    var certKty = cert.GetKeyAlgorithm() switch
                    {
                        "1.2.840.10045.2.1" => JsonWebAlgorithmsKeyTypes.EllipticCurve,
                        "1.2.840.113549.1.1.1" => JsonWebAlgorithmsKeyTypes.RSA,
                        _ => null,
                    };
                    if (certKty != key.Kty)
                    {
                        throw new SpiffeBundleFormatException("spiffebundle: x509-svid certificate key type does not match the entry's kty.");
                    }
                }
                else
                {
                    if (string.IsNullOrEmpty(key.Kid))
                    {
                        throw new SpiffeBundleFormatException("spiffebundle: jwt-svid entry has no key ID (kid).");
                    }

                    if (!kids.Add(key.Kid))
                    {
                        throw new SpiffeBundleFormatException("spiffebundle: duplicate jwt-svid key ID.");
                    }

                    jwt.Add(new(key.Kid, key));
                }
            }

            return new SpiffeBundle(
                trustDomain,
                x509,
                jwt,
                ReadRefreshHint(doc.RootElement),
                ReadNonNegativeInt64(doc.RootElement, "spiffe_sequence"));
        }
        catch
        {
            foreach (var cert in x509)
            {
                cert.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Serialises the bundle as a SPIFFE bundle document (UTF-8 JSON), the inverse of <see cref="Parse"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">An X.509 authority has a key type other than EC or RSA.</exception>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var cert in X509Bundle.Authorities)
            {
                writer.WriteStartObject();
                writer.WriteString("use", X509SvidUse);
                WriteCertificatePublicKey(writer, cert);
                writer.WriteStartArray("x5c");
                writer.WriteBase64StringValue(cert.RawData);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            foreach (var (kid, key) in JwtBundle.Authorities)
            {
                writer.WriteStartObject();
                writer.WriteString("use", JwtSvidUse);
                writer.WriteString("kty", key.Kty);
                writer.WriteString("kid", kid);
                if (key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve)
                {
                    writer.WriteString("crv", key.Crv);
                    writer.WriteString("x", key.X);
                    writer.WriteString("y", key.Y);
                }
                else
                {
                    writer.WriteString("n", key.N);
                    writer.WriteString("e", key.E);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (RefreshHint is { } hint)
            {
                writer.WriteNumber("spiffe_refresh_hint", (long)hint.TotalSeconds);
            }

            if (SequenceNumber is { } sequence)
            {
                writer.WriteNumber("spiffe_sequence", sequence);
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static X509Certificate2 LoadCertificate(string base64)
    {
        // x5c is standard base64 (RFC 7517 §4.7), not base64url.
        try
        {
            return X509CertificateLoader.LoadCertificate(Convert.FromBase64String(base64));
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            throw new SpiffeBundleFormatException("spiffebundle: x509-svid entry has an invalid certificate.", ex);
        }
    }

    private static TimeSpan? ReadRefreshHint(JsonElement root)
    {
        var seconds = ReadNonNegativeInt64(root, "spiffe_refresh_hint");
        if (seconds is null)
        {
            return null;
        }

        // Bound to something TimeSpan can hold; a hint of centuries is as good as "never".
        return TimeSpan.FromSeconds(Math.Min(seconds.Value, (long)TimeSpan.FromDays(3650).TotalSeconds));
    }

    private static long? ReadNonNegativeInt64(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < 0)
        {
            throw new SpiffeBundleFormatException($"spiffebundle: \"{name}\" is not a non-negative integer.");
        }

        return number;
    }

    private static void WriteCertificatePublicKey(Utf8JsonWriter writer, X509Certificate2 cert)
    {
        using var ec = cert.GetECDsaPublicKey();
        if (ec is not null)
        {
            var p = ec.ExportParameters(includePrivateParameters: false);
            writer.WriteString("kty", JsonWebAlgorithmsKeyTypes.EllipticCurve);
            writer.WriteString("crv", JwkSetReader.CrvFor(p.Curve) ?? throw new InvalidOperationException("spiffebundle: X.509 authority uses an unsupported EC curve."));
            writer.WriteBase64StringValueUrl("x", p.Q.X!);
            writer.WriteBase64StringValueUrl("y", p.Q.Y!);
            return;
        }

        using var rsa = cert.GetRSAPublicKey()
            ?? throw new InvalidOperationException("spiffebundle: X.509 authority key is neither EC nor RSA.");
        var r = rsa.ExportParameters(includePrivateParameters: false);
        writer.WriteString("kty", JsonWebAlgorithmsKeyTypes.RSA);
        writer.WriteBase64StringValueUrl("n", r.Modulus!);
        writer.WriteBase64StringValueUrl("e", r.Exponent!);
    }
}

/// <summary>JSON writing helpers.</summary>
internal static class Utf8JsonWriterExtensions
{
    public static void WriteBase64StringValueUrl(this Utf8JsonWriter writer, string name, byte[] value) =>
        writer.WriteString(name, System.Buffers.Text.Base64Url.EncodeToString(value));
}
