using Broker.Errors;
using Broker.Hosting;
using Broker.Keys;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tokens;

/// <summary>
/// Verifies that a token is a capability token this broker issued: our issuer, <c>typ</c>
/// <c>at+jwt</c>, ES256 under a key of the ring. Used wherever one of our own tokens comes back:
/// re-exchange, revocation, introspection. Lifetime and grant status are the caller's to check.
/// </summary>
internal sealed class CapabilityTokenReader(ISigningKeyProvider keys, IOptions<BrokerOptions> options)
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly string _issuer = options.Value.Issuer!;

    public async ValueTask<(JsonWebToken? Token, ErrorDescriptor? Error)> ReadAsync(JsonWebToken parsed)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        var key = keys.Find(parsed.Kid);
        if (key is null)
        {
            return (null, ErrorCatalog.SubjectUnknownKey);
        }

        var result = await _handler.ValidateTokenAsync(parsed, new TokenValidationParameters
        {
            ValidIssuer = _issuer,
            // Our tokens name an MCP server as audience; callers bound what they do by the grant instead.
            ValidateAudience = false,
            ValidTypes = [CapabilityTokenTypes.AccessTokenJwt],
            IssuerSigningKey = key.Key,
            TryAllIssuerSigningKeys = false,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            RequireSignedTokens = true,
            // Lifetime is checked by callers against the broker's clock.
            ValidateLifetime = false,
        });
        if (result.IsValid)
        {
            return (parsed, null);
        }

        return (null, result.Exception switch
        {
            SecurityTokenInvalidSignatureException => ErrorCatalog.SubjectInvalidSignature,
            SecurityTokenInvalidTypeException => ErrorCatalog.SubjectInvalidType,
            SecurityTokenInvalidIssuerException => ErrorCatalog.SubjectInvalidIssuer,
            _ => ErrorCatalog.SubjectMalformed,
        });
    }

    /// <summary>Parses and verifies a raw token; null for anything that is not a valid token of ours.</summary>
    public async ValueTask<JsonWebToken?> TryReadAsync(string? token, int maxLength)
    {
        if (string.IsNullOrEmpty(token) || token.Length > maxLength)
        {
            return null;
        }

        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return null;
        }

        return parsed.Alg == SecurityAlgorithms.EcdsaSha256 ? (await ReadAsync(parsed)).Token : null;
    }
}
