using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Cryptography;
using Broker.Grants;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace Broker.Keys;

/// <summary>
/// The key ring shared by every replica through Redis (<see cref="KeyStore.Redis"/>). Each replica holds the last ring
/// it read and derives the active and published keys from it and the clock (<see cref="KeyRingSchedule"/>); it reads
/// the ring again when another replica announces a change and every <see cref="KeyRotationOptions.PollInterval"/>.
/// Changes to the ring (a new key, tidying, an admin's rotation or retirement) are made by one replica at a time,
/// under the rotation lease, and written by compare-and-set on the ring's version.
/// </summary>
internal sealed class SharedKeyRing : ISigningKeyProvider
{
    private static readonly TimeSpan AdminLeaseWait = TimeSpan.FromSeconds(5);

    private readonly RedisKeyRingStore _store;
    private readonly KeyMaterialProtector _protector;
    private readonly KeysOptions _options;
    private readonly KeyRingTimings _timings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SigningKey> _privateKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SigningKey> _publicKeys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly KeysTelemetry? _telemetry;
    private volatile Snapshot _snapshot;
    private string? _lastActiveKid;
    private string? _manualKid;

    public SharedKeyRing(
        RedisKeyRingStore store,
        KeyMaterialProtector protector,
        IOptions<KeysOptions> options,
        IOptions<PolicyOptions> policy,
        IOptions<StatusListOptions> statusList,
        TimeProvider timeProvider,
        ILogger<SharedKeyRing> logger,
        KeysTelemetry? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(statusList);
        _store = store;
        _protector = protector;
        _options = options.Value;
        _timings = TimingsFor(_options, policy.Value, statusList.Value);
        _time = timeProvider;
        _logger = logger;
        _telemetry = telemetry;
        _snapshot = Build(VersionedKeyRing.Empty, _time.GetUtcNow());
    }

    /// <summary>The timings of the ring's rules in this process.</summary>
    public KeyRingTimings Timings => _timings;

    /// <summary>How often this replica reads the ring when no change is announced.</summary>
    public TimeSpan PollInterval => _options.Rotation.PollInterval;

    /// <summary>When this replica last read the ring from Redis; null before the first read.</summary>
    public DateTimeOffset? LastReadAt { get; private set; }

    /// <summary>The version of the ring this replica holds (0: none read yet, or empty).</summary>
    public long Version => _snapshot.Ring.Version;

    public SigningKey Active => Current().Active
        ?? throw new InvalidOperationException("The key ring has no active key that this replica can sign with.");

    /// <summary>Whether this replica has a key to sign with now.</summary>
    public bool HasActiveKey => Current().Active is not null;

    public IReadOnlyList<SigningKey> Published => Current().Published;

    public SigningKey? Find(string keyId) => Current().ById.GetValueOrDefault(keyId);

    /// <summary>Every key of the ring this replica holds, with its state now.</summary>
    public IReadOnlyList<KeyStatus> Statuses => Current().Statuses;

    /// <summary>
    /// The retention, safe publication delay and schedule: retired keys stay published for the longest token the broker
    /// signs (capability tokens up to <c>Broker:Policy:MaxTokenLifetime</c>, status list tokens up to
    /// <c>Broker:StatusList:Lifetime</c>) plus verifiers' clock skew.
    /// </summary>
    public static KeyRingTimings TimingsFor(KeysOptions keys, PolicyOptions policy, StatusListOptions statusList)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(statusList);
        var longestToken = policy.MaxTokenLifetime > statusList.Lifetime ? policy.MaxTokenLifetime : statusList.Lifetime;
        return new KeyRingTimings(
            Retention: longestToken + keys.Rotation.ClockSkew,
            SafePublication: keys.JwksMaxAge + keys.Rotation.PollInterval * 2,
            Interval: keys.Rotation.Interval,
            PrePublication: keys.Rotation.PrePublication,
            Automatic: keys.Rotation.Automatic);
    }

    /// <summary>Subscribes to change announcements; <paramref name="onChanged"/> runs on Redis's thread and must only signal.</summary>
    public Task SubscribeAsync(Action onChanged, CancellationToken cancellationToken) =>
        _store.SubscribeAsync(version =>
        {
            if (version > Version)
            {
                onChanged();
            }
        }, cancellationToken);

    /// <summary>Reads the ring and applies it; returns it.</summary>
    public async Task<VersionedKeyRing> RefreshAsync(CancellationToken cancellationToken)
    {
        var ring = await _store.ReadAsync(cancellationToken);
        LastReadAt = _time.GetUtcNow();
        Apply(ring);
        return ring;
    }

    /// <summary>
    /// One turn of the schedule: reads the ring, and when it needs a change (its first key, the next key on the
    /// schedule, recording retirements, dropping removed keys) makes it under the lease, unless another replica holds
    /// the lease. Returns true when this call added a key.
    /// </summary>
    public async Task<bool> RunScheduleAsync(CancellationToken cancellationToken)
    {
        var ring = await RefreshAsync(cancellationToken);
        var plan = KeyRingSchedule.Plan(ring.Keys, _time.GetUtcNow(), _timings);
        if (!plan.Changed && plan.NewKeyActivatesAt is null)
        {
            return false;
        }

        var outcome = await WithLeaseAsync(TimeSpan.Zero, async ct =>
        {
            // Read again under the lease: the replica that held it before may have done the work already.
            var current = await RefreshAsync(ct);
            var now = _time.GetUtcNow();
            var replan = KeyRingSchedule.Plan(current.Keys, now, _timings);
            if (!replan.Changed && replan.NewKeyActivatesAt is null)
            {
                return false;
            }

            List<StoredKey> keys = [.. replan.Keys];
            List<StoredKey> added = [];
            if (replan.NewKeyActivatesAt is { } activatesAt)
            {
                added.AddRange(current.Keys.Count == 0 && _options.SigningKeyFiles.Count > 0
                    ? ImportFiles(now)
                    : [_protector.Generate(now, activatesAt).Stored]);
                keys.AddRange(added);
            }

            var version = await _store.CompareAndSetAsync(current.Version, keys, ct);
            if (version is null)
            {
                // Another replica wrote the ring in between (its lease had expired, or ours did): its ring stands.
                Log.KeyRingWriteLost(_logger, current.Version);
                return false;
            }

            foreach (var removed in current.Keys.Where(k => !keys.Any(kept => kept.Kid == k.Kid)))
            {
                Log.KeyRemoved(_logger, removed.Kid);
            }

            foreach (var key in added)
            {
                Log.KeyAdded(_logger, key.Kid, key.Origin, key.ActivatesAt);
            }

            Apply(new VersionedKeyRing(version.Value, keys));
            return added.Count > 0;
        }, cancellationToken);
        return outcome is (true, true);
    }

    /// <summary>An admin's rotation; null when another replica holds the lease for longer than the admin should wait.</summary>
    public async Task<KeyRotation?> RotateAsync(CancellationToken cancellationToken) =>
        (await WithLeaseAsync(AdminLeaseWait, async ct =>
        {
            var current = await RefreshAsync(ct);
            var now = _time.GetUtcNow();
            var previous = KeyRingSchedule.Evaluate(current.Keys, now, _timings.Retention).FirstOrDefault(s => s.State == KeyState.Active)?.Key;
            var (keys, next, activatesAt) = KeyRingSchedule.Rotate(current.Keys, now, _timings);
            List<StoredKey> updated = [.. keys];
            if (next is null)
            {
                next = _protector.Generate(now, activatesAt).Stored;
                updated.Add(next);
            }

            var version = await _store.CompareAndSetAsync(current.Version, updated, ct)
                ?? throw new RedisException("The key ring changed during a rotation under the lease.");
            Apply(new VersionedKeyRing(version, updated));
            Volatile.Write(ref _manualKid, next.Kid);
            Log.KeyRotatedByAdmin(_logger, next.Kid, activatesAt, previous?.Kid);
            var retiring = previous is null ? null : updated.First(k => k.Kid == previous.Kid);
            return new KeyRotation(next.Kid, activatesAt, retiring?.Kid, retiring?.RemoveAt);
        }, cancellationToken)).Value;

    /// <summary>An admin's retirement of <paramref name="kid"/>; null when the lease stayed busy.</summary>
    public async Task<RetireOutcome?> RetireAsync(string kid, CancellationToken cancellationToken) =>
        (await WithLeaseAsync(AdminLeaseWait, async ct =>
        {
            var current = await RefreshAsync(ct);
            var outcome = KeyRingSchedule.Retire(current.Keys, kid, _time.GetUtcNow(), _timings);
            if (outcome is RetireOutcome.Retired retired)
            {
                var version = await _store.CompareAndSetAsync(current.Version, retired.Keys, ct)
                    ?? throw new RedisException("The key ring changed during a retirement under the lease.");
                Apply(new VersionedKeyRing(version, retired.Keys));
                Log.KeyRetiredByAdmin(_logger, kid);
            }

            return outcome;
        }, cancellationToken)).Value;

    /// <summary>
    /// Signs only with keys this process can decrypt: the active key's private half is decrypted now, the next keys' as
    /// well, so the switch at their activation costs nothing and a key that cannot be decrypted shows before it is due.
    /// Throws <see cref="CryptographicException"/> when the active key cannot be decrypted.
    /// </summary>
    public void EnsureSigningKeys()
    {
        foreach (var status in Current().Statuses.Where(s => s.State is KeyState.Active or KeyState.Next))
        {
            _ = PrivateKey(status.Key);
        }
    }

    private Snapshot Current()
    {
        var snapshot = _snapshot;
        var now = _time.GetUtcNow();
        if (snapshot.NextChange is { } change && now >= change)
        {
            lock (_lock)
            {
                if (_snapshot.NextChange is { } again && now >= again)
                {
                    _snapshot = Build(_snapshot.Ring, now);
                    CountRotation();
                }

                snapshot = _snapshot;
            }
        }

        return snapshot;
    }

    private void Apply(VersionedKeyRing ring)
    {
        lock (_lock)
        {
            // An older read (a slow poll that crossed a newer write) never replaces a newer ring.
            if (ring.Version < _snapshot.Ring.Version)
            {
                return;
            }

            var changed = ring.Version != _snapshot.Ring.Version;
            _snapshot = Build(ring, _time.GetUtcNow());
            CountRotation();
            if (changed)
            {
                Log.KeyRingLoaded(_logger, ring.Version, _snapshot.Active?.KeyId ?? "(none)", _snapshot.Published.Count);
            }

            // Keys that left the ring are forgotten here too.
            foreach (var kid in _privateKeys.Keys.Union(_publicKeys.Keys).Where(kid => !ring.Keys.Any(k => k.Kid == kid)).ToList())
            {
                _privateKeys.TryRemove(kid, out _);
                _publicKeys.TryRemove(kid, out _);
            }
        }
    }

    /// <summary>
    /// Counts a change of the active key this replica signs with (under <see cref="_lock"/>): the first key the ring
    /// yields is no rotation; a key an admin's rotation on this replica made is <c>manual</c>, any other
    /// <c>scheduled</c> (another replica's manual rotation included: the trigger is only known where it happened).
    /// </summary>
    private void CountRotation()
    {
        var kid = _snapshot.Active?.KeyId;
        if (kid is null || string.Equals(kid, _lastActiveKid, StringComparison.Ordinal))
        {
            return;
        }

        if (_lastActiveKid is not null)
        {
            _telemetry?.Rotated(string.Equals(kid, Volatile.Read(ref _manualKid), StringComparison.Ordinal) ? "manual" : "scheduled");
        }

        _lastActiveKid = kid;
    }

    private Snapshot Build(VersionedKeyRing ring, DateTimeOffset now)
    {
        var statuses = KeyRingSchedule.Evaluate(ring.Keys, now, _timings.Retention);
        SigningKey? active = null;
        List<SigningKey> published = [];
        foreach (var status in statuses.Where(s => s.State != KeyState.Removed))
        {
            SigningKey? key;
            if (status.State == KeyState.Active)
            {
                key = TryPrivateKey(status.Key);
                active = key;
                key ??= TryPublicKey(status.Key);
            }
            else
            {
                key = TryPublicKey(status.Key);
            }

            if (key is not null)
            {
                published.Add(key);
            }
        }

        // The JWKS lists the active key first, then the next ones, then the retired ones.
        published = [.. published.OrderBy(k => statuses.First(s => s.Key.Kid == k.KeyId).State switch
        {
            KeyState.Active => 0,
            KeyState.Next => 1,
            _ => 2,
        })];
        return new Snapshot(
            ring,
            statuses,
            active,
            published,
            published.ToFrozenDictionary(k => k.KeyId, StringComparer.Ordinal),
            KeyRingSchedule.NextChange(statuses, now));
    }

    private SigningKey? TryPrivateKey(StoredKey stored)
    {
        try
        {
            return PrivateKey(stored);
        }
        catch (CryptographicException)
        {
            // Fail closed: without its private half the replica signs nothing (the JWKS still lists the key).
            Log.KeyDecryptionFailed(_logger, stored.Kid);
            return null;
        }
    }

    private SigningKey PrivateKey(StoredKey stored) =>
        _privateKeys.TryGetValue(stored.Kid, out var key) ? key : _privateKeys.GetOrAdd(stored.Kid, _protector.Unprotect(stored));

    private SigningKey? TryPublicKey(StoredKey stored)
    {
        try
        {
            return _publicKeys.GetOrAdd(stored.Kid, _ => KeyMaterialProtector.PublicKey(stored));
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or ArgumentException)
        {
            Log.KeyRecordInvalid(_logger, stored.Kid);
            return null;
        }
    }

    private List<StoredKey> ImportFiles(DateTimeOffset now)
    {
        // The first file signs at once (an empty ring has published nothing yet), the others are published as retired
        // so that tokens they signed before the ring existed keep verifying: the same meaning as with Store=Files.
        List<StoredKey> keys = [];
        for (var i = 0; i < _options.SigningKeyFiles.Count; i++)
        {
            var file = SigningKey.FromPemFile(_options.SigningKeyFiles[i]);
            if (keys.Any(k => k.Kid == file.KeyId))
            {
                continue;
            }

            var stored = i == 0
                ? _protector.Import(file, now, now).Stored
                : _protector.Import(file, now, now - TimeSpan.FromSeconds(1)).Stored with { RetiredAt = now, RemoveAt = now + _timings.Retention };
            keys.Add(stored);
        }

        return keys;
    }

    /// <summary>Runs <paramref name="action"/> holding the lease; (false, default) when it stayed busy for <paramref name="wait"/>.</summary>
    private async Task<(bool Held, T? Value)> WithLeaseAsync<T>(TimeSpan wait, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        var token = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));

        // Real time, not the TimeProvider: it bounds how long a caller actually waits.
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!await _store.TryAcquireLeaseAsync(token, _options.Rotation.LeaseDuration, cancellationToken))
        {
            if (started.Elapsed >= wait)
            {
                Log.LeaseBusy(_logger);
                return (false, default);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        try
        {
            // The work is a few Redis calls and at most one key generation: bounded well within the lease.
            return (true, await action(cancellationToken));
        }
        finally
        {
            try
            {
                await _store.ReleaseLeaseAsync(token, CancellationToken.None);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The lease expires by itself.
                Log.KeyRingUnavailable(_logger, ex);
            }
        }
    }

    private sealed record Snapshot(
        VersionedKeyRing Ring,
        IReadOnlyList<KeyStatus> Statuses,
        SigningKey? Active,
        IReadOnlyList<SigningKey> Published,
        FrozenDictionary<string, SigningKey> ById,
        DateTimeOffset? NextChange);
}

/// <summary>What an admin's rotation did: which key signs from when, and which retires until when.</summary>
internal sealed record KeyRotation(string Kid, DateTimeOffset ActivatesAt, string? PreviousKid, DateTimeOffset? PreviousRemoveAt);
