// Broker.Client — the agent side of the Broker.

using System.Net.Http.Headers;
using Broker.Jose.DPoP;

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

    /// <summary>
    /// Puts this token on <paramref name="request"/>: <c>Authorization: DPoP</c> and a fresh <c>DPoP</c> proof of this
    /// request (its method and URI, <c>ath</c> of this token, the server's latest nonce; RFC 9449 §7.1) for a DPoP-bound
    /// token, <c>Authorization: Bearer</c> otherwise. Call it again for every send: a proof is accepted once. For callers
    /// that hold one token themselves; <see cref="CapabilityTokenHandler"/> does this, and the retries, for every request.
    /// </summary>
    /// <exception cref="ArgumentException">The request has no absolute http(s) URI.</exception>
    public void Authorize(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove(DPoPConstants.HeaderName);
        if (Key is null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
            return;
        }

        if (request.RequestUri is not { IsAbsoluteUri: true } uri)
        {
            throw new ArgumentException("broker-client: a DPoP proof names the request's absolute URI.", nameof(request));
        }

        request.Headers.Authorization = new AuthenticationHeaderValue(DPoPConstants.AuthenticationScheme, AccessToken);
        request.Headers.TryAddWithoutValidation(DPoPConstants.HeaderName, Key.CreateProof(request.Method, uri, AccessToken));
    }

    /// <summary>
    /// Remembers the <c>DPoP-Nonce</c> a server sent with <paramref name="response"/> (RFC 9449 §8.2, §9) for the next
    /// proof to that server. Nothing for a bearer token.
    /// </summary>
    /// <returns>True when the response carried a nonce that is now remembered.</returns>
    public bool RememberNonce(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Key is not null && response.RequestMessage?.RequestUri is { IsAbsoluteUri: true } uri && Key.RememberNonce(uri, response);
    }

    /// <summary>The lifetime the broker granted.</summary>
    public TimeSpan Lifetime => ExpiresAt - IssuedAt;

    /// <inheritdoc />
    public override string ToString() => $"CapabilityToken {{ TokenType = {TokenType}, Scope = {Scope}, ExpiresAt = {ExpiresAt:O} }}";
}
