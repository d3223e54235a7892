// Broker.Client — the agent side of the Broker.

using System.Collections.Concurrent;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Broker.Jose.DPoP;

namespace Broker.Client;

/// <summary>
/// The agent's DPoP key (RFC 9449): an ES256 (P-256) key pair made in process memory when the agent starts, which
/// its capability tokens are bound to (<c>cnf.jkt</c>) and which signs a proof for every request they go with. One
/// per agent: <c>AddBrokerClient</c> registers one singleton. The key never leaves the process: it is not written
/// anywhere, not logged, and <see cref="ToString"/> shows only its public thumbprint.
/// </summary>
/// <remarks>
/// <para>
/// On Windows the key is a CNG key whose export policy forbids exporting the private key. Elsewhere (.NET on
/// OpenSSL) an in-memory key cannot be marked non-exportable: it is as safe as the process memory it lives in, which
/// is why it is made fresh per process and never persisted. A restart makes a new key, and the tokens bound to the old
/// one are simply exchanged again.
/// </para>
/// <para>
/// It also remembers the latest <c>DPoP-Nonce</c> each server (origin) sent (RFC 9449 §8, §9), to put in the next
/// proof for that server.
/// </para>
/// </remarks>
public sealed class DPoPKey : IDisposable
{
    // Servers whose nonce is remembered; an agent talks to a handful, and a flood of origins only costs retries.
    private const int MaxOrigins = 256;

    // RFC 9449 §8.1: nonce = 1*NQCHAR; bounded, as anything a server sends us.
    private const int MaxNonceLength = 512;

    private readonly ECDsa _key;
    private readonly DPoPProofBuilder _builder;
    private readonly ConcurrentDictionary<string, string> _nonces = new(StringComparer.Ordinal);

    /// <summary>Makes a new P-256 key pair in memory.</summary>
    /// <param name="timeProvider">The clock a proof's <c>iat</c> is read from; <see cref="TimeProvider.System"/> by default.</param>
    public DPoPKey(TimeProvider? timeProvider = null)
    {
        _key = OperatingSystem.IsWindows() ? CreateNonExportable() : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _builder = new DPoPProofBuilder(_key, timeProvider);
    }

    /// <summary>
    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url: the <c>cnf.jkt</c> of the tokens bound to it.
    /// </summary>
    public string Thumbprint => _builder.Thumbprint;

    /// <summary>The proofs' <c>alg</c>: ES256.</summary>
    public string Algorithm => _builder.Algorithm;

    /// <summary>Makes a proof for one request (RFC 9449 §4.2), with the latest nonce of its server when there is one.</summary>
    /// <param name="method">The request's method.</param>
    /// <param name="uri">The request's absolute URI.</param>
    /// <param name="accessToken">The access token sent with it, for <c>ath</c>; null at the token endpoint.</param>
    internal string CreateProof(HttpMethod method, Uri uri, string? accessToken = null) =>
        _builder.CreateProof(method.Method, uri, accessToken, NonceFor(uri));

    /// <summary>The nonce last remembered for <paramref name="uri"/>'s server.</summary>
    internal string? NonceFor(Uri uri) => _nonces.TryGetValue(Origin(uri), out var nonce) ? nonce : null;

    /// <summary>Remembers the <c>DPoP-Nonce</c> of a response from <paramref name="uri"/>'s server, if it has one.</summary>
    /// <returns>True when the response carried a usable nonce.</returns>
    internal bool RememberNonce(Uri uri, HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues(DPoPConstants.NonceHeaderName, out var values) || values.SingleOrDefault() is not { } nonce || !IsNonce(nonce))
        {
            return false;
        }

        var origin = Origin(uri);
        if (_nonces.Count >= MaxOrigins && !_nonces.ContainsKey(origin))
        {
            _nonces.Clear();
        }

        _nonces[origin] = nonce;
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    /// <summary>The public thumbprint; never key material.</summary>
    public override string ToString() => $"DPoPKey {{ Algorithm = {Algorithm}, Thumbprint = {Thumbprint} }}";

    private static string Origin(Uri uri) => uri.GetLeftPart(UriPartial.Authority);

    private static bool IsNonce(string nonce) =>
        nonce.Length is > 0 and <= MaxNonceLength && nonce.All(c => c is '!' or (>= '#' and <= '[') or (>= ']' and <= '~'));

    [SupportedOSPlatform("windows")]
    private static ECDsaCng CreateNonExportable()
    {
        // An ephemeral CNG key (no name, so nothing is persisted) that refuses to export its private part.
        using var key = CngKey.Create(CngAlgorithm.ECDsaP256, keyName: null, new CngKeyCreationParameters { ExportPolicy = CngExportPolicies.None });
        return new ECDsaCng(key);
    }
}
