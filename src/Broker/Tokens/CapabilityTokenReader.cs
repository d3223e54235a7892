using Broker.Errors;
using Broker.Jose;
using Broker.Keys;
using Microsoft.Extensions.Options;

namespace Broker.Tokens;

/// <summary>
/// Verifies that a token is a capability token this broker issued: through the gate of
/// <see cref="CompactJws"/>, then our issuer, <c>typ</c> <c>at+jwt</c>, a key of the ring that fits
/// <c>alg</c> (ES256), and the signature. Used wherever one of our own tokens comes back:
/// re-exchange, revocation, introspection. Lifetime and grant status are the caller's to check.
/// </summary>
internal sealed class CapabilityTokenReader(ISigningKeyProvider keys, IOptions<BrokerOptions> options)
{
    private readonly string _issuer = options.Value.Issuer!;
    private volatile CompactJwsOptions? _gate;

    /// <summary>Verifies a token that passed the gate; null when it is a valid token of ours.</summary>
    public ErrorDescriptor? Verify(CompactJws token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!string.Equals(token.Issuer, _issuer, StringComparison.Ordinal))
        {
            return ErrorCatalog.SubjectInvalidIssuer;
        }

        // RFC 9068 §2.1, §4: our tokens are typed at+jwt, and nothing else we receive is.
        if (!JwsTypes.AccessToken.Contains(token.Type))
        {
            return ErrorCatalog.SubjectInvalidType;
        }

        var key = token.KeyId is { } kid ? keys.Find(kid) : null;
        if (key is null)
        {
            return ErrorCatalog.SubjectUnknownKey;
        }

        // The published JWK pins ES256: any other alg is refused before the signature is looked at.
        if (!JoseAlgorithms.KeyFits(key.PublicJwk, token.Algorithm))
        {
            return ErrorCatalog.SubjectKeyAlgorithmMismatch;
        }

        return token.VerifySignature(key.PublicJwk) ? null : ErrorCatalog.SubjectInvalidSignature;
    }

    /// <summary>Reads and verifies a raw token; null for anything that is not a valid token of ours.</summary>
    public CompactJws? TryRead(string? token, int maxLength)
    {
        // Callers pass the same limit every time: build the gate's options once.
        var gate = _gate is { } last && last.MaxTokenLength == maxLength
            ? last
            : _gate = new CompactJwsOptions { MaxTokenLength = maxLength, AcceptedTypes = JwsTypes.AccessToken, RequireKeyId = true };
        return CompactJws.TryRead(token, gate, out var read, out _) && Verify(read) is null ? read : null;
    }
}
