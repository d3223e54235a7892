// Broker.Validation — resource servers honour broker tokens.

using System.Collections.Concurrent;

namespace Broker.Validation.Revocation;

/// <summary>
/// The revoked grant IDs this server knows of, in memory, filled by a revocation feed client (the broker's
/// server-sent-events feed; see docs/mcp.md). An entry is kept until the last token of its grant has expired
/// anyway, then dropped. The feed client also reports how current the set is (<see cref="MarkCurrent"/>), which
/// <see cref="RevocationPolicy.MaxStaleness"/> turns into fail-closed behaviour when the feed falls silent.
/// Thread-safe.
/// </summary>
public sealed class RevokedGrantSet : IRevocationCheck
{
    /// <summary>Default bound on the number of entries.</summary>
    public const int DefaultMaxEntries = 1_000_000;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset WithdrawnAt, DateTimeOffset KeepUntil)> _withdrawn = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly int _maxEntries;
    private long _currentAsOfTicks = long.MinValue;
    private long _nextSweepTicks;
    private int _overflowed;
    private readonly Lock _refuseGate = new();
    private DateTimeOffset _refuseIssuedBefore = DateTimeOffset.MinValue;
    private DateTimeOffset _refuseUntil = DateTimeOffset.MinValue;

    /// <summary>Creates an empty set that has never been current.</summary>
    /// <param name="timeProvider">The clock entries expire by.</param>
    /// <param name="maxEntries">Bound on the number of unexpired entries; past it the set stops vouching for anything.</param>
    public RevokedGrantSet(TimeProvider timeProvider, int maxEntries = DefaultMaxEntries)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        _timeProvider = timeProvider;
        _maxEntries = maxEntries;
    }

    /// <summary>Unexpired entries (approximate while entries are being added).</summary>
    public int Count => _revoked.Count;

    /// <summary>What <see cref="MarkCurrent"/> last reported; null when never, or after an overflow.</summary>
    public DateTimeOffset? CurrentAsOf
    {
        get
        {
            var ticks = Interlocked.Read(ref _currentAsOfTicks);
            return ticks == long.MinValue || Volatile.Read(ref _overflowed) != 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Records that <paramref name="grantId"/> is revoked, until <paramref name="keepUntil"/>: the latest moment a
    /// token of that grant could still be accepted (its <c>exp</c> plus clock skew; when only the revocation time is
    /// known, that time plus the broker's longest token lifetime plus skew). Adding an ID again keeps the later time.
    /// </summary>
    /// <returns>False when the set is full: it then reports itself not current (fail closed under a staleness limit).</returns>
    public bool Add(string grantId, DateTimeOffset keepUntil)
    {
        ArgumentException.ThrowIfNullOrEmpty(grantId);
        var now = _timeProvider.GetUtcNow();
        if (keepUntil <= now)
        {
            return true;
        }

        SweepIfDue(now);
        if (_revoked.Count >= _maxEntries && !_revoked.ContainsKey(grantId))
        {
            Sweep(now);
            if (_revoked.Count >= _maxEntries)
            {
                // Dropping an entry would silently re-admit a revoked grant; refusing to vouch fails closed.
                Volatile.Write(ref _overflowed, 1);
                return false;
            }
        }

        _revoked.AddOrUpdate(grantId, keepUntil, (_, existing) => existing >= keepUntil ? existing : keepUntil);
        return true;
    }

    /// <summary>
    /// Reports that the set holds every revocation up to <paramref name="asOf"/> (a feed event or heartbeat). Also
    /// clears an overflow once expired entries have made room again.
    /// </summary>
    public void MarkCurrent(DateTimeOffset asOf)
    {
        if (Volatile.Read(ref _overflowed) != 0)
        {
            Sweep(_timeProvider.GetUtcNow());
            if (_revoked.Count < _maxEntries)
            {
                Volatile.Write(ref _overflowed, 0);
            }
        }

        var ticks = asOf.UtcTicks;
        long seen;
        do
        {
            seen = Interlocked.Read(ref _currentAsOfTicks);
            if (seen >= ticks)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _currentAsOfTicks, ticks, seen) != seen);
    }

    /// <summary>
    /// Refuses every token issued before <paramref name="issuedBefore"/> as if revoked, until
    /// <paramref name="keepUntil"/> (when the last of them has expired anyway): revocations before that instant may
    /// have been missed (the feed's <c>reset</c>, or a first connection that replays no history). A later call
    /// widens the window, never narrows it.
    /// </summary>
    public void RefuseIssuedBefore(DateTimeOffset issuedBefore, DateTimeOffset keepUntil)
    {
        lock (_refuseGate)
        {
            if (issuedBefore > _refuseIssuedBefore)
            {
                _refuseIssuedBefore = issuedBefore;
            }

            if (keepUntil > _refuseUntil)
            {
                _refuseUntil = keepUntil;
            }
        }
    }

    /// <summary>True when a token issued at <paramref name="issuedAt"/> falls in a <see cref="RefuseIssuedBefore"/> window.</summary>
    public bool RefusesIssuedAt(DateTimeOffset issuedAt)
    {
        lock (_refuseGate)
        {
            return issuedAt < _refuseIssuedBefore && _timeProvider.GetUtcNow() < _refuseUntil;
        }
    }

    /// <summary>
    /// Records that <paramref name="capability"/> was withdrawn from the broker's catalog at
    /// <paramref name="withdrawnAt"/> (the feed's <c>capability_withdrawn</c>): every token carrying it issued at or before
    /// that second is refused, until <paramref name="keepUntil"/> (when the last of them has expired). A later
    /// withdrawal of the same capability widens the window, never narrows it; a token issued after it (the capability
    /// was published again) is honoured.
    /// </summary>
    /// <returns>False when the set is full: it then reports itself not current, as <see cref="Add"/> does.</returns>
    public bool WithdrawCapability(string capability, DateTimeOffset withdrawnAt, DateTimeOffset keepUntil)
    {
        ArgumentException.ThrowIfNullOrEmpty(capability);
        var now = _timeProvider.GetUtcNow();
        if (keepUntil <= now)
        {
            return true;
        }

        if (_withdrawn.Count >= _maxEntries && !_withdrawn.ContainsKey(capability))
        {
            foreach (var (name, window) in _withdrawn)
            {
                if (window.KeepUntil <= now)
                {
                    _withdrawn.TryRemove(new KeyValuePair<string, (DateTimeOffset, DateTimeOffset)>(name, window));
                }
            }

            if (_withdrawn.Count >= _maxEntries)
            {
                Volatile.Write(ref _overflowed, 1);
                return false;
            }
        }

        _withdrawn.AddOrUpdate(
            capability,
            (withdrawnAt, keepUntil),
            (_, existing) => (existing.WithdrawnAt >= withdrawnAt ? existing.WithdrawnAt : withdrawnAt, existing.KeepUntil >= keepUntil ? existing.KeepUntil : keepUntil));
        return true;
    }

    /// <summary>True when a token carrying one of <paramref name="capabilities"/>, issued at <paramref name="issuedAt"/>, falls in a withdrawal's window.</summary>
    public bool RefusesCapabilities(IEnumerable<string> capabilities, DateTimeOffset issuedAt)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        if (_withdrawn.IsEmpty)
        {
            return false;
        }

        var now = _timeProvider.GetUtcNow();
        foreach (var capability in capabilities)
        {
            // iat is in whole seconds, and so is the withdrawal: a token of the same second is refused (fail closed).
            if (_withdrawn.TryGetValue(capability, out var window) && window.KeepUntil > now && issuedAt.ToUnixTimeSeconds() <= window.WithdrawnAt.ToUnixTimeSeconds())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="grantId"/> is revoked and its entry has not expired.</summary>
    public bool Contains(string grantId) =>
        _revoked.TryGetValue(grantId, out var keepUntil) && keepUntil > _timeProvider.GetUtcNow();

    /// <inheritdoc />
    public ValueTask<RevocationStatus> CheckAsync(string grantId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grantId);
        SweepIfDue(_timeProvider.GetUtcNow());
        return ValueTask.FromResult(new RevocationStatus(Contains(grantId), CurrentAsOf));
    }

    /// <inheritdoc />
    public ValueTask<RevocationStatus> CheckAsync(string grantId, DateTimeOffset issuedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grantId);
        SweepIfDue(_timeProvider.GetUtcNow());
        return ValueTask.FromResult(new RevocationStatus(Contains(grantId) || RefusesIssuedAt(issuedAt), CurrentAsOf));
    }

    /// <summary>As <see cref="CheckAsync(string, DateTimeOffset, CancellationToken)"/>, and refused too when it carries a withdrawn capability.</summary>
    public ValueTask<RevocationStatus> CheckAsync(RevocationQuery token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        SweepIfDue(_timeProvider.GetUtcNow());
        var revoked = Contains(token.GrantId) || RefusesIssuedAt(token.IssuedAt) || RefusesCapabilities(token.Capabilities, token.IssuedAt);
        return ValueTask.FromResult(new RevocationStatus(revoked, CurrentAsOf));
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref _nextSweepTicks);
        if (now.UtcTicks >= due && Interlocked.CompareExchange(ref _nextSweepTicks, (now + SweepInterval).UtcTicks, due) == due)
        {
            Sweep(now);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (grantId, keepUntil) in _revoked)
        {
            if (keepUntil <= now)
            {
                _revoked.TryRemove(new KeyValuePair<string, DateTimeOffset>(grantId, keepUntil));
            }
        }
    }
}
