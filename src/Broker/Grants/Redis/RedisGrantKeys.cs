using System.Globalization;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Key and channel names of the Redis grant store; the table is in <c>docs/architecture.md</c>.
/// </summary>
/// <remarks>
/// Redis Cluster runs a script or a multi-key command only when all its keys hash to one slot, and hashes only
/// the part of a key between the first <c>{</c> and the following <c>}</c> when there is one (the hash tag). Every
/// key of a tenant carries the tenant's routing tag, <c>{tag}</c>, so recording a grant (record, three indexes,
/// audit entry, the link to its parent, its status list index) and revoking it with its descendants (marks,
/// revocation stream, audit entries, status list bits) are each one script on one slot. A derived grant always has its parent's tenant, hence its tag
/// (<see cref="GrantValidation.ForRecord"/>): a family of grants never spans slots. The grant
/// ID starts with the same tag (<see cref="GrantId.New"/>), so a store given only an ID knows the slot without a
/// lookup. The trade-off: one tenant's grants live on one cluster node — load spreads across tenants, not within
/// one. A separate lookup key (ID → tenant) would spread a tenant but cannot be written in the same atomic step,
/// since it lives in another slot. The tag is 24 bits, so unrelated tenants may share a slot; every name below
/// that is about a tenant still spells the tenant out, and readers of the shared streams filter by tenant.
/// </remarks>
internal sealed class RedisGrantKeys(string prefix)
{
    /// <summary>The pub/sub channel for revocation announcements (not slot-bound: PUBLISH reaches every node).</summary>
    public RedisChannel RevocationChannel { get; } = RedisChannel.Literal(prefix + "revocations");

    /// <summary><c>{p}{tag}:g:{id}</c> — the grant record (<see cref="RedisGrantRecordCodec"/>).</summary>
    public RedisKey Grant(string tag, string grantId) => $"{prefix}{{{tag}}}:g:{grantId}";

    /// <summary><c>{p}{tag}:r:{id}</c> — the revocation of a grant (compact JSON string), absent while active.</summary>
    public RedisKey Revocation(string tag, string grantId) => $"{prefix}{{{tag}}}:r:{grantId}";

    /// <summary>
    /// <c>{p}{tag}:c:{id}</c> — the children of a grant past the first <see cref="RedisGrantRecordCodec.InlineChildren"/>
    /// (which its record holds): their IDs without the routing tag, appended one after the other (string).
    /// </summary>
    public RedisKey Children(string tag, string grantId) => $"{prefix}{{{tag}}}:c:{grantId}";

    /// <summary>
    /// <c>{p}{tag}:</c> — what every key of the tag starts with. The revoke script walks a grant's descendants, whose
    /// IDs it learns as it goes, so it builds their <see cref="Grant"/>, <see cref="Revocation"/> and
    /// <see cref="Children"/> names from this (<c>g:</c>, <c>r:</c>, <c>c:</c> + ID): keep them in step. Keys it was
    /// not given in KEYS are still on the slot of the tag, which Redis Cluster allows a script to touch.
    /// </summary>
    public string TagBase(string tag) => $"{prefix}{{{tag}}}:";

    /// <summary>
    /// The index a query reads: a tenant's bucket directory (<see cref="IndexBucket"/>), a subject's chunk directory
    /// (<see cref="IndexChunk"/>), or a task's sorted set (member → expiry, Unix ms).
    /// </summary>
    public RedisKey Index(GrantQuery query)
    {
        var tag = GrantId.RoutingTag(query.Tenant);
        return query switch
        {
            { Subject: { } subject } => SubjectIndex(tag, query.Tenant, subject),
            { TaskId: { } taskId } => TaskIndex(tag, query.Tenant, taskId),
            _ => TenantIndex(tag, query.Tenant),
        };
    }

    /// <summary>
    /// A grant's member in its indexes: the ID without the routing tag and dot, which every member of an index
    /// shares (an index belongs to one tenant), so the order of members is the order of IDs. Five bytes less per
    /// member, enough to keep a two-grant task index a size class smaller.
    /// </summary>
    public static string IndexMember(string grantId) => grantId[(GrantId.RoutingTagLength + 1)..];

    /// <summary>
    /// <c>{p}{tag}:tb:{tenant}</c> — every grant of a tenant: the directory of its buckets (<see cref="IndexBucket"/>).
    /// </summary>
    public RedisKey TenantIndex(string tag, string tenant) => $"{prefix}{{{tag}}}:tb:{tenant}";

    /// <summary>
    /// A bucket of a tenant's index: the grants of one expiry, named after the directory with the expiry (Unix ms,
    /// digits) after its two-letter kind: <c>{p}{tag}:tb{expiry}:{tenant}</c>. A string: the members
    /// (<see cref="IndexMember"/>, 22 characters each) appended one after the other, in the order they were recorded; it
    /// lives exactly until its expiry. The directory is a sorted set of the buckets' expiries (member and score, Unix
    /// ms); its expired entries are trimmed as grants are recorded. Tokens expire in whole seconds (<c>exp</c> is a
    /// NumericDate), so a bucket holds one second's grants; a grant of another expiry gets a bucket of its own, so that a
    /// listing stays in expiry order. Buckets suit an index that gets several grants a second (a tenant's); a subject's,
    /// which gets one now and then, would pay a key per grant, so it is chunked (<see cref="IndexChunk"/>). The record
    /// and page scripts build these names on the tag's slot (keep them in step); no bucket name is a directory's, a
    /// chunk's or a legacy chunk's (<see cref="LegacyTenantIndex"/>).
    /// </summary>
    public static RedisKey IndexBucket(string tagBase, RedisKey directory, long expiry)
    {
        ArgumentNullException.ThrowIfNull(tagBase);
        var name = directory.ToString();
        return string.Concat(name.AsSpan(0, tagBase.Length + 2), expiry.ToString(CultureInfo.InvariantCulture), name.AsSpan(tagBase.Length + 2));
    }

    /// <summary>
    /// Most members of a chunk of a chunked index (the record script's): 120 members of 34 bytes fill a 4 KiB listpack,
    /// below the 128 past which Redis (<c>zset-max-listpack-entries</c>) keeps a sorted set as a skiplist.
    /// </summary>
    public const int IndexChunkCapacity = 120;

    /// <summary>
    /// <c>{p}{tag}:s:{len(tenant)}:{tenant}:{subject}</c> — a subject's grants: the directory of a chunked index
    /// (<see cref="IndexChunk"/>). The tenant's length keeps the boundary unambiguous when a tenant name contains a colon.
    /// </summary>
    public RedisKey SubjectIndex(string tag, string tenant, string subject)
        => $"{prefix}{{{tag}}}:s:{Length(tenant)}:{tenant}:{subject}";

    /// <summary>
    /// A chunk of a chunked index (a subject's, and the legacy tenant index of older replicas), named after its
    /// directory: <c>{p}{tag}:s{n}:{len(tenant)}:{tenant}:{subject}</c>, <c>{p}{tag}:t{n}:{tenant}</c>. The directory is
    /// a sorted set of chunk names (<c>n</c>, a counter) scored by the lowest expiry each holds, plus the counter
    /// <c>#</c> scored below zero; a chunk is a sorted set like a task index, of at most <see cref="IndexChunkCapacity"/>
    /// members (unless they all expire in one millisecond), so that it stays a listpack. The record and page scripts
    /// build these names (keep them in step).
    /// </summary>
    public static RedisKey IndexChunk(string tagBase, RedisKey directory, string chunk)
    {
        ArgumentNullException.ThrowIfNull(tagBase);
        var name = directory.ToString();
        return string.Concat(name.AsSpan(0, tagBase.Length + 1), chunk, name.AsSpan(tagBase.Length + 1));
    }

    /// <summary>
    /// Legacy, read only: <c>{p}{tag}:t:{tenant}</c>, the directory of the chunked tenant index (<see cref="IndexChunk"/>)
    /// that replicas before the tenant's buckets write. The page script still reads it, so that during a rolling upgrade
    /// a listing or a revocation by tenant also reaches the grants an older replica recorded; it goes away with the last
    /// of those grants. (A subject's index is chunked as before, under its old names: nothing legacy about it.)
    /// </summary>
    public RedisKey LegacyTenantIndex(string tag, string tenant) => $"{prefix}{{{tag}}}:t:{tenant}";

    /// <summary><c>{p}{tag}:k:{len(tenant)}:{tenant}:{task}</c> — a task's grants.</summary>
    public RedisKey TaskIndex(string tag, string tenant, string taskId)
        => $"{prefix}{{{tag}}}:k:{Length(tenant)}:{tenant}:{taskId}";

    private static string Length(string tenant) => tenant.Length.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>{p}{tag}:d{n}</c>, n 0 or 1 — strings repeated across the grants of the tenants with this tag, as numbers
    /// (hash: <c>=string</c> → number, number → string, <c>#</c> the last number).
    /// </summary>
    public RedisKey Dictionary(string tag, int number) => $"{prefix}{{{tag}}}:d{number.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// <c>{p}{tag}:lb:{tenant}</c> — the tenant's status list: one bit per index, mirrored within each byte so that the
    /// string is the list in the draft's bit order (<see cref="StatusIndexing.RedisOffset"/>). The revoke script builds
    /// the name from <see cref="TagBase"/> (<c>lb:</c> + tenant): keep them in step.
    /// </summary>
    public RedisKey StatusBits(string tag, string tenant) => $"{prefix}{{{tag}}}:lb:{tenant}";

    /// <summary>
    /// <c>{p}{tag}:lq:{tenant}</c> — the tenant's free status list indexes (hash): <c>n</c> the high-water mark, <c>#</c>
    /// a counter naming full chunks, and per reuse step (its number, or number.chunk once 256 are in it) the indexes
    /// that come free then, 3 bytes each, big-endian. The revoke script builds the name (<c>lq:</c> + tenant).
    /// </summary>
    public RedisKey StatusQueue(string tag, string tenant) => $"{prefix}{{{tag}}}:lq:{tenant}";

    /// <summary><c>{p}{tag}:lz:{tenant}</c> — the fields of <see cref="StatusQueue"/> by the time they come free (sorted set, Unix ms).</summary>
    public RedisKey StatusOrder(string tag, string tenant) => $"{prefix}{{{tag}}}:lz:{tenant}";

    /// <summary><c>{p}{tag}:rev</c> — the revocation stream of the tenants with this tag.</summary>
    public RedisKey RevocationStream(string tag) => $"{prefix}{{{tag}}}:rev";

    /// <summary><c>{p}{tag}:audit</c> — the audit stream of the tenants with this tag.</summary>
    public RedisKey AuditStream(string tag) => $"{prefix}{{{tag}}}:audit";

    /// <summary>
    /// <c>{p}{global}:audit</c> — events with no tenant. No routing tag is six characters long, so no tenant's
    /// stream can be this one.
    /// </summary>
    public RedisKey GlobalAuditStream { get; } = $"{prefix}{{global}}:audit";
}
