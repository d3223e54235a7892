using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Revoking grants in Redis: each grant with its descendants in one <see cref="RedisGrantScripts.Revoke"/> step (marks,
/// revocation stream entries, audit events, status list bits, announcements), and in bulk through an index.
/// </summary>
internal sealed class RedisGrantRevocations(
    RedisStoreConnection redis, RedisGrantKeys keys, IGrantRecordCodec codec, RedisGrantListing listing, GrantsOptions options, TimeProvider timeProvider, ILogger logger)
{
    private const int BulkBatchSize = 200;

    /// <summary>
    /// How long a revocation stream outlives its last append. The stream keeps its newest entry whatever its age,
    /// so a caught-up reader resumes without a resynchronisation after a quiet period up to this long; after it,
    /// the stream of an abandoned tenant goes away.
    /// </summary>
    private static readonly TimeSpan RevocationStreamIdleLifetime = TimeSpan.FromDays(30);

    /// <summary>See <see cref="IGrantStore.RevokeAsync"/>.</summary>
    public async ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        GrantValidation.ForRevocation(revokedBy, reason);
        if (!GrantId.TryGetRoutingTag(grantId, out var tag))
        {
            return GrantNotFound.Instance;
        }

        var result = (await RevokeBatchAsync(tag, [grantId], revokedBy, reason, cancellationToken))[0];
        if (result is Revoked revoked)
        {
            Log.GrantRevoked(logger, grantId, revoked.Entry.Tenant, revokedBy);
            if (revoked.Descendants.Count > 0)
            {
                Log.DescendantsRevoked(logger, revoked.Descendants.Count, grantId, revoked.Entry.Tenant);
            }
        }

        return result;
    }

    /// <summary>See <see cref="IGrantStore.RevokeAllAsync"/>.</summary>
    public async ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        GrantValidation.ForRevocation(revokedBy, reason);

        // Batches keep each script short: a script blocks the whole Redis node while it runs. Each grant's
        // revocation is atomic; the bulk is not. Revoked grants stay in the index, so the cursor stays valid. A tenant's
        // index is walked twice: its buckets, then the legacy chunks older replicas write (empty but during a rolling
        // upgrade), each with a cursor of its own, so that a cursor that expires between two pages ends only its own
        // walk (everything after it there has expired too), never the other's. A subject's (chunks) and a task's index
        // are walked once.
        var tag = GrantId.RoutingTag(query.Tenant);
        var count = 0;
        IndexSources[] walks = query is { Subject: null, TaskId: null }
            ? [IndexSources.Buckets, IndexSources.LegacyChunks]
            : [IndexSources.BucketsThenLegacyChunks];
        foreach (var sources in walks)
        {
            string? cursor = null;
            while (true)
            {
                var ids = await listing.PageIdsAsync(tag, query, cursor, BulkBatchSize, sources, cancellationToken);
                if (ids.Count == 0)
                {
                    break;
                }

                var results = await RevokeBatchAsync(tag, ids, revokedBy, reason, cancellationToken);
                count += results.Sum(r => r is Revoked revoked ? 1 + revoked.Descendants.Count : 0);
                cursor = ids[^1];
            }
        }

        Log.GrantsRevokedInBulk(logger, count, query.Tenant, revokedBy, query.Subject, query.TaskId);
        return count;
    }

    private async Task<IReadOnlyList<RevokeResult>> RevokeBatchAsync(
        string tag, List<string> ids, string revokedBy, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var scriptKeys = new RedisKey[4 + (2 * ids.Count)];
        scriptKeys[0] = keys.RevocationStream(tag);
        scriptKeys[1] = keys.AuditStream(tag);
        scriptKeys[2] = keys.Dictionary(tag, 0);
        scriptKeys[3] = keys.Dictionary(tag, 1);
        var args = new RedisValue[12 + ids.Count];
        args[0] = now.ToUnixTimeMilliseconds();
        args[1] = revokedBy;
        args[2] = reason;
        args[3] = options.RevocationStreamMaxLength;
        args[4] = RedisStoreConnection.MinId(now, options.RevocationStreamRetention);
        args[5] = (long)(options.RevocationStreamRetention + RevocationStreamIdleLifetime).TotalMilliseconds;
        args[6] = options.AuditMaxLength;
        args[7] = RedisStoreConnection.MinId(now, options.AuditRetention);
        args[8] = (long)options.AuditRetention.TotalMilliseconds;
        args[9] = keys.RevocationChannel.ToString();
        args[10] = keys.TagBase(tag);
        args[11] = tag;
        for (var i = 0; i < ids.Count; i++)
        {
            scriptKeys[4 + (2 * i)] = keys.Grant(tag, ids[i]);
            scriptKeys[5 + (2 * i)] = keys.Revocation(tag, ids[i]);
            args[12 + i] = ids[i];
        }

        var rows = (RedisResult[])(await redis.EvaluateAsync(nameof(IGrantStore.RevokeAsync), RedisGrantScripts.Revoke, scriptKeys, args, cancellationToken))!;

        // Replicated before it is reported, when so configured: an admin told "revoked" must not see the grant come
        // back after a failover. Already revoked counts too: this may be the retry of a call whose WAIT fell short.
        if (rows.Any(r => (int)((RedisResult[])r!)[0] != 0))
        {
            await redis.WaitForReplicasAsync(keys.RevocationStream(tag), nameof(IGrantStore.RevokeAsync), cancellationToken);
        }

        var revokedAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        var results = new RevokeResult[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var row = (RedisResult[])rows[i]!;
            results[i] = (int)row[0] switch
            {
                1 => new Revoked(Entry((string)row[1]!, ids[i], (string)row[2]!, (long)row[3]))
                {
                    Descendants = [.. ((RedisResult[])row[4]!).Select(d => (RedisResult[])d!).Select(d => Entry((string)d[1]!, (string)d[0]!, (string)d[2]!, (long)d[3]))],
                },
                2 => new AlreadyRevoked(codec.DecodeRevocation((string)row[1]!)),
                _ => GrantNotFound.Instance,
            };
        }

        return results;

        RevocationEntry Entry(string position, string grantId, string tenant, long expiry)
            => new(StreamPosition.Parse(position), grantId, tenant, revokedAt) { ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry) };
    }
}
