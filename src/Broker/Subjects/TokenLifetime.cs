using Broker.Errors;
using Broker.Jose;

namespace Broker.Subjects;

/// <summary>
/// <c>exp</c>, <c>nbf</c> and <c>iat</c> checked against the broker's <see cref="TimeProvider"/>
/// (RFC 7519 §4.1.4-6, with bounded skew). The gate already refused any that is not a number of
/// seconds between 1970 and 9999, so a string <c>exp</c> never reaches this check.
/// </summary>
internal static class TokenLifetime
{
    public static ErrorDescriptor? Check(CompactJws token, DateTimeOffset now, TimeSpan skew)
    {
        if (token.ExpirationTime is not { } exp)
        {
            return ErrorCatalog.SubjectMissingExpiry;
        }

        var seconds = now.ToUnixTimeMilliseconds() / 1000.0;
        var leeway = skew.TotalSeconds;
        if (exp + leeway <= seconds)
        {
            return ErrorCatalog.SubjectExpired;
        }

        if (token.NotBefore is { } nbf && nbf - leeway > seconds)
        {
            return ErrorCatalog.SubjectNotYetValid;
        }

        if (token.IssuedAt is { } iat && iat - leeway > seconds)
        {
            return ErrorCatalog.SubjectNotYetValid;
        }

        return null;
    }

    /// <summary>When the token expires, to the second (the gate bounded <c>exp</c> to what a date can hold).</summary>
    public static DateTimeOffset ExpiresAt(CompactJws token) => DateTimeOffset.FromUnixTimeSeconds((long)(token.ExpirationTime ?? 0));
}
