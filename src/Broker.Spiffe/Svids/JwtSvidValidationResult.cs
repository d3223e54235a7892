// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Spiffe.Svids;

/// <summary>
/// The outcome of <see cref="JwtSvid.Validate(string, Bundles.IJwtBundleSource, IReadOnlyCollection{string}, JwtSvidValidationOptions?)"/>: either <see cref="JwtSvidValidationSuccess"/> or
/// <see cref="JwtSvidValidationFailure"/>. No other subtypes exist (the constructor is not accessible outside this library).
/// </summary>
public abstract record JwtSvidValidationResult
{
    private protected JwtSvidValidationResult()
    {
    }

    /// <summary>True when the token is valid.</summary>
    public abstract bool IsValid { get; }

    /// <summary>Gets the validated SVID when <see cref="IsValid"/> is true.</summary>
    public bool TryGetSvid([NotNullWhen(true)] out JwtSvid? svid)
    {
        svid = (this as JwtSvidValidationSuccess)?.Svid;
        return svid is not null;
    }
}

/// <summary>The token is a valid JWT-SVID for one of the expected audiences.</summary>
/// <param name="Svid">The validated SVID.</param>
public sealed record JwtSvidValidationSuccess(JwtSvid Svid) : JwtSvidValidationResult
{
    /// <summary>
    /// The bundle authority whose key verified the signature, so a caller that caches the result can tell when that
    /// key leaves the bundle or is replaced under the same <c>kid</c> (compare its RFC 7638 thumbprint).
    /// </summary>
    public JsonWebKey? Authority { get; init; }

    /// <inheritdoc />
    public override bool IsValid => true;
}

/// <summary>The token was rejected.</summary>
/// <param name="Error">Why it was rejected.</param>
/// <param name="Message">A short fixed description, prefixed <c>jwtsvid:</c>; never contains the token or any claim value.</param>
public sealed record JwtSvidValidationFailure(JwtSvidValidationError Error, string Message) : JwtSvidValidationResult
{
    /// <inheritdoc />
    public override bool IsValid => false;
}
