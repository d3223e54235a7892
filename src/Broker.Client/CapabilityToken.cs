// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>A capability token issued by the broker (RFC 8693 §2.2.1).</summary>
/// <remarks><see cref="ToString"/> never prints the token.</remarks>
public sealed class CapabilityToken
{
    /// <summary>Creates a bearer capability token.</summary>
    public CapabilityToken(string accessToken, DateTimeOffset expiresAt, string scope, string issuedTokenType, DateTimeOffset issuedAt)
        : this(accessToken, expiresAt, scope, issuedTokenType, issuedAt, key: null)
    {
    }

    /// <summary>Creates a capability token bound to <paramref name="key"/> (RFC 9449), or a bearer token when it is null.</summary>
    internal CapabilityToken(string accessToken, DateTimeOffset expiresAt, string scope, string issuedTokenType, DateTimeOffset issuedAt, DPoPKey? key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accessToken);
        AccessToken = accessToken;
        ExpiresAt = expiresAt;
        Scope = scope ?? string.Empty;
        IssuedTokenType = issuedTokenType ?? string.Empty;
        IssuedAt = issuedAt;
        Key = key;
    }

    /// <summary>The token, sent as <c>Authorization: DPoP</c> with a proof when it is DPoP-bound, else as <c>Authorization: Bearer</c>.</summary>
    public string AccessToken { get; }

    /// <summary>
    /// When the token expires: the time the exchange was sent plus <c>expires_in</c>, so it errs on the early side
    /// of the broker's <c>exp</c>.
    /// </summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>When the exchange that issued this token was sent (by the client's clock).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The granted capabilities, space-separated (all requested ones: the broker grants all or none).</summary>
    public string Scope { get; }

    /// <summary>The RFC 8693 <c>issued_token_type</c>.</summary>
    public string IssuedTokenType { get; }

    /// <summary>
    /// The RFC 6749 <c>token_type</c>: <c>DPoP</c> for a token bound to the agent's <see cref="DPoPKey"/> (RFC 9449 §5),
    /// <c>Bearer</c> otherwise. It is also the scheme the token is sent with.
    /// </summary>
    public string TokenType => Key is null ? "Bearer" : "DPoP";

    /// <summary>The key the token is bound to; null for a bearer token.</summary>
    internal DPoPKey? Key { get; }

    /// <summary>The lifetime the broker granted.</summary>
    public TimeSpan Lifetime => ExpiresAt - IssuedAt;

    /// <inheritdoc />
    public override string ToString() => $"CapabilityToken {{ TokenType = {TokenType}, Scope = {Scope}, ExpiresAt = {ExpiresAt:O} }}";
}
