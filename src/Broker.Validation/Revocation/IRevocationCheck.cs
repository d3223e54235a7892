// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>
/// Consulted for every token that passed validation. The default is <see cref="RevokedGrantSet"/>, which the broker's
/// revocation feed fills; <c>AddBrokerStatusList</c> puts <see cref="StatusListRevocationCheck"/> in its place (which
/// consults the set too); register another implementation (introspection, say) before either to replace them.
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

    /// <summary>
    /// Whether the token <paramref name="token"/> describes must be refused as revoked: what the broker token scheme
    /// asks for every validated token. Defaults to <see cref="CheckAsync(string, DateTimeOffset, CancellationToken)"/>.
    /// </summary>
    ValueTask<RevocationStatus> CheckAsync(RevocationQuery token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return CheckAsync(token.GrantId, token.IssuedAt, cancellationToken);
    }
}

/// <summary>What a revocation check is told about a validated token.</summary>
/// <param name="GrantId">Its grant (<c>jti</c>).</param>
/// <param name="IssuedAt">Its <c>iat</c>.</param>
public sealed record RevocationQuery(string GrantId, DateTimeOffset IssuedAt)
{
    /// <summary>Its <c>status.status_list</c> reference (draft-ietf-oauth-status-list §6.2), when it has one.</summary>
    public StatusListReference? StatusList { get; init; }

    /// <summary>Its capabilities (<c>scope</c>), so a capability withdrawn from the broker's catalog can be refused.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];
}

/// <summary>A token's place in a Token Status List: its index in the list at <paramref name="Uri"/>.</summary>
/// <param name="Index">The <c>idx</c>: a non-negative integer.</param>
/// <param name="Uri">The <c>uri</c>: the list token's <c>sub</c>.</param>
public readonly record struct StatusListReference(long Index, string Uri);

/// <summary>The answer of an <see cref="IRevocationCheck"/>.</summary>
/// <param name="Revoked">True when the grant is known to be revoked.</param>
/// <param name="CurrentAsOf">
/// The moment up to which the source knows every revocation (the feed's last event or heartbeat, the status list's
/// <c>iat</c>); null when it has never been current. Compared with <see cref="RevocationPolicy.MaxStaleness"/>.
/// </param>
public readonly record struct RevocationStatus(bool Revoked, DateTimeOffset? CurrentAsOf)
{
    /// <summary>
    /// True when the source can say nothing about this token however current it is (its status names a list this
    /// server does not follow, or an index outside the list): the token is refused whatever
    /// <see cref="RevocationPolicy.AllowWhenStale"/> says.
    /// </summary>
    public bool Undetermined { get; init; }
}
