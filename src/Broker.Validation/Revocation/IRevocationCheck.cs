// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>
/// Consulted for every token that passed validation, by grant ID (the token's <c>jti</c>). The default is
/// <see cref="RevokedGrantSet"/>, which the broker's revocation feed fills; register another implementation
/// (a status-list reader, introspection) to replace it.
/// </summary>
public interface IRevocationCheck
{
    /// <summary>Whether <paramref name="grantId"/> is revoked, and how current that answer is.</summary>
    ValueTask<RevocationStatus> CheckAsync(string grantId, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a token of <paramref name="grantId"/> issued at <paramref name="issuedAt"/> (its <c>iat</c>) must be
    /// refused as revoked. A source that lost history (the feed's <c>reset</c>) refuses every token issued before
    /// the gap. Defaults to <see cref="CheckAsync(string, CancellationToken)"/>.
    /// </summary>
    ValueTask<RevocationStatus> CheckAsync(string grantId, DateTimeOffset issuedAt, CancellationToken cancellationToken) =>
        CheckAsync(grantId, cancellationToken);
}

/// <summary>The answer of an <see cref="IRevocationCheck"/>.</summary>
/// <param name="Revoked">True when the grant is known to be revoked.</param>
/// <param name="CurrentAsOf">
/// The moment up to which the source knows every revocation (the feed's last event or heartbeat); null when it has
/// never been current. Compared with <see cref="RevocationPolicy.MaxStaleness"/>.
/// </param>
public readonly record struct RevocationStatus(bool Revoked, DateTimeOffset? CurrentAsOf);
