// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>
/// The revocation check of a server that polls the broker's Token Status List (<c>AddBrokerStatusList</c>;
/// draft-ietf-oauth-status-list §8.3 steps 6 and 7): a token whose index in the polled list is not VALID is refused,
/// and so is one whose <c>status</c> names another list or an index outside it. The list vouches (its
/// <see cref="RevocationStatus.CurrentAsOf"/> is its <c>iat</c>) until its <c>exp</c>. The
/// <see cref="RevokedGrantSet"/> is consulted too, so a server may also follow the revocation feed: a token is refused
/// if either source says revoked, and the answer is as current as the more current of the two. Thread-safe.
/// </summary>
public sealed class StatusListRevocationCheck : IRevocationCheck
{
    private readonly RevokedGrantSet _feed;
    private readonly TimeProvider _timeProvider;
    private StatusListSnapshot? _list;
    private string? _listUri;

    /// <summary>Creates a check with no list yet, which vouches for nothing until the client has fetched one.</summary>
    /// <param name="feed">The revocations the feed delivers (empty and never current when there is no feed).</param>
    /// <param name="timeProvider">The clock the list's <c>exp</c> is checked against.</param>
    public StatusListRevocationCheck(RevokedGrantSet feed, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _feed = feed;
        _timeProvider = timeProvider;
    }

    /// <summary>The URI of the list followed (the broker's <c>status_list_endpoint</c> and the tenant); null until discovered.</summary>
    public string? ListUri => Volatile.Read(ref _listUri);

    /// <summary>The <c>iat</c> of the list held, while it has not expired; null when there is none.</summary>
    public DateTimeOffset? CurrentAsOf => Usable(Volatile.Read(ref _list))?.IssuedAt;

    /// <summary>When the list held was fetched; null when none was.</summary>
    public DateTimeOffset? FetchedAt => Volatile.Read(ref _list)?.FetchedAt;

    /// <inheritdoc />
    public ValueTask<RevocationStatus> CheckAsync(string grantId, CancellationToken cancellationToken) => _feed.CheckAsync(grantId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<RevocationStatus> CheckAsync(string grantId, DateTimeOffset issuedAt, CancellationToken cancellationToken) =>
        _feed.CheckAsync(grantId, issuedAt, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<RevocationStatus> CheckAsync(RevocationQuery token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        var feed = await _feed.CheckAsync(token, cancellationToken);
        var list = Volatile.Read(ref _list);
        var listUri = ListUri;

        if (token.StatusList is not { } reference)
        {
            // A token without a status (a broker with the list off): only the feed can speak for it.
            return feed.CurrentAsOf is null ? feed with { Undetermined = true } : feed;
        }

        // §8.3 step 4a: the token's uri must be the list this server follows, compared as strings. A token of this
        // broker and tenant naming another list means the broker moved (its issuer changed): nothing here can vouch.
        if (listUri is not null && !string.Equals(reference.Uri, listUri, StringComparison.Ordinal))
        {
            return feed with { Undetermined = true };
        }

        if (list is null)
        {
            // Not fetched yet: not current, so refused under the staleness rule; revoked if the feed says so.
            return feed;
        }

        // §8.3 step 6: an index outside the list says nothing; the token is refused.
        if (list.StatusAt(reference.Index) is not { } status)
        {
            return feed with { Undetermined = true };
        }

        // §7: 0x00 VALID; INVALID, SUSPENDED and anything else are refused. A mark is believed even from a list that
        // has expired (revocation is final); only its vouching stops.
        var currentAsOf = Later(Usable(list)?.IssuedAt, feed.CurrentAsOf);
        return new RevocationStatus(feed.Revoked || status != 0, currentAsOf);
    }

    /// <summary>Starts following <paramref name="uri"/>: a list of another URI held so far is dropped.</summary>
    internal void Follow(string uri)
    {
        var previous = Interlocked.Exchange(ref _listUri, uri);
        if (previous is not null && !string.Equals(previous, uri, StringComparison.Ordinal))
        {
            Volatile.Write(ref _list, null);
        }
    }

    /// <summary>Holds <paramref name="list"/> from now on, unless it is older than the one held (a reordered fetch).</summary>
    internal void Apply(StatusListSnapshot list)
    {
        while (true)
        {
            var held = Volatile.Read(ref _list);
            if (held is not null && string.Equals(held.Uri, list.Uri, StringComparison.Ordinal) && held.IssuedAt > list.IssuedAt)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _list, list, held) == held)
            {
                return;
            }
        }
    }

    private StatusListSnapshot? Usable(StatusListSnapshot? list) => list is not null && _timeProvider.GetUtcNow() < list.ExpiresAt ? list : null;

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
