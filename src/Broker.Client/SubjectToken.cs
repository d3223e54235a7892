// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>
/// A token that proves who the agent is (or who acts for it), sent to the broker as <c>subject_token</c> or
/// <c>actor_token</c>.
/// </summary>
/// <remarks><see cref="ToString"/> never prints the token.</remarks>
public sealed class SubjectToken
{
    /// <summary>Creates a subject token.</summary>
    /// <param name="token">The encoded token, for example a JWT-SVID.</param>
    /// <param name="tokenType">Its RFC 8693 §3 type URI; see <see cref="SubjectTokenTypes"/>.</param>
    /// <param name="expiresAt">When it expires, if known.</param>
    public SubjectToken(string token, string tokenType, DateTimeOffset? expiresAt = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        ArgumentException.ThrowIfNullOrWhiteSpace(tokenType);
        Token = token;
        TokenType = tokenType;
        ExpiresAt = expiresAt;
    }

    /// <summary>The encoded token.</summary>
    public string Token { get; }

    /// <summary>The RFC 8693 §3 token type URI.</summary>
    public string TokenType { get; }

    /// <summary>When the token expires, if known.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    /// <inheritdoc />
    public override string ToString() => $"SubjectToken {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>RFC 8693 §3 token type URIs the broker accepts as subject or actor tokens.</summary>
public static class SubjectTokenTypes
{
    /// <summary>A JWT, such as a JWT-SVID or a Kubernetes service-account token.</summary>
    public const string Jwt = "urn:ietf:params:oauth:token-type:jwt";

    /// <summary>An OpenID Connect ID token.</summary>
    public const string IdToken = "urn:ietf:params:oauth:token-type:id_token";

    /// <summary>An OAuth access token, such as a capability token of the broker (to narrow or delegate it).</summary>
    public const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
}
