// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>A capability token issued by the broker (RFC 8693 §2.2.1).</summary>
/// <remarks><see cref="ToString"/> never prints the token.</remarks>
public sealed class CapabilityToken
{
    /// <summary>Creates a capability token.</summary>
    public CapabilityToken(string accessToken, DateTimeOffset expiresAt, string scope, string issuedTokenType, DateTimeOffset issuedAt)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accessToken);
        AccessToken = accessToken;
        ExpiresAt = expiresAt;
        Scope = scope ?? string.Empty;
        IssuedTokenType = issuedTokenType ?? string.Empty;
        IssuedAt = issuedAt;
    }

    /// <summary>The token, sent as <c>Authorization: Bearer</c>.</summary>
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

    /// <summary>The lifetime the broker granted.</summary>
    public TimeSpan Lifetime => ExpiresAt - IssuedAt;

    /// <inheritdoc />
    public override string ToString() => $"CapabilityToken {{ Scope = {Scope}, ExpiresAt = {ExpiresAt:O} }}";
}
