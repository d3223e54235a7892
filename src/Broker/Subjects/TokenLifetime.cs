using Broker.Errors;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Subjects;

/// <summary>
/// <c>exp</c>, <c>nbf</c> and <c>iat</c> checked against the broker's <see cref="TimeProvider"/>
/// (Microsoft.IdentityModel's own lifetime check reads the system clock, which tests cannot move).
/// </summary>
internal static class TokenLifetime
{
    public static ErrorDescriptor? Check(JsonWebToken token, DateTimeOffset now, TimeSpan skew)
    {
        if (!token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Exp, out var exp))
        {
            return ErrorCatalog.SubjectMissingExpiry;
        }

        if (DateTimeOffset.FromUnixTimeSeconds(exp) + skew <= now)
        {
            return ErrorCatalog.SubjectExpired;
        }

        if (token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Nbf, out var nbf) && DateTimeOffset.FromUnixTimeSeconds(nbf) - skew > now)
        {
            return ErrorCatalog.SubjectNotYetValid;
        }

        if (token.TryGetPayloadValue<long>(JwtRegisteredClaimNames.Iat, out var iat) && DateTimeOffset.FromUnixTimeSeconds(iat) - skew > now)
        {
            return ErrorCatalog.SubjectNotYetValid;
        }

        return null;
    }
}
