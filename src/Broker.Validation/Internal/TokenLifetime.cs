// Broker.Validation — resource servers honour broker tokens.

using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Internal;

/// <summary>
/// RFC 7519 §4.1.4/§4.1.5 <c>exp</c> and <c>nbf</c> against the injected clock, with the configured skew. Throws the
/// same exception types as IdentityModel's own check, so failures are described alike.
/// </summary>
internal sealed class TokenLifetime(TimeProvider timeProvider)
{
    public bool Validate(DateTime? notBefore, DateTime? expires, SecurityToken securityToken, TokenValidationParameters parameters)
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        if (expires is not { } exp)
        {
            throw new SecurityTokenNoExpirationException("The token has no expiration time.");
        }

        if (notBefore is { } nbf && nbf > now + parameters.ClockSkew)
        {
            throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = nbf };
        }

        if (exp <= now - parameters.ClockSkew)
        {
            throw new SecurityTokenExpiredException("The token has expired.") { Expires = exp };
        }

        return true;
    }
}
