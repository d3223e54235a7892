using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Redis;
using Broker.Testing.Grants;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>The grant store contract against a real Redis; each test has a key prefix of its own.</summary>
public abstract partial class RedisGrantStoreTestBase : GrantStoreContractTests
{
    private readonly List<IConnectionMultiplexer> _connections = [];
    private readonly List<RedisGrantStore> _stores = [];

    protected RedisGrantStoreTestBase(string configuration)
    {
        Configuration = configuration;
    }

    protected string Configuration { get; }

    protected string KeyPrefix { get; } = RedisServerFixture.NewKeyPrefix();

    private protected static GrantsOptions GrantsOptions => new() { Retention = TimeSpan.FromSeconds(30) };

    protected override TimeProvider Time => TimeProvider.System;

    protected override TimeSpan ShortLifetime => TimeSpan.FromSeconds(1);

    /// <summary>A tenant's index appends a second's grants to one bucket (RedisGrantKeys.IndexBucket).</summary>
    protected override bool TiesLatestRecordedFirst => true;

    protected override Task PassAsync(TimeSpan duration) => Task.Delay(duration, Ct);

    /// <summary>A new connection and a store on it: another broker replica.</summary>
    private protected override async ValueTask<IGrantStore> CreateReplicaAsync() => await ConnectStoreAsync(GrantsOptions);

    private protected override async ValueTask<IGrantStore> CreateStoreAsync(GrantsOptions options, StatusListOptions statusList) => await ConnectStoreAsync(options, statusList);

    private protected async Task<RedisGrantStore> ConnectStoreAsync(
        GrantsOptions options, StatusListOptions? statusList = null, TimeProvider? time = null, int maxRecordBatch = 32, GrantStoreTelemetry? telemetry = null,
        int recordCallsInFlight = 1)
    {
        var redisOptions = new RedisOptions
        {
            Configuration = Configuration, KeyPrefix = KeyPrefix, MaxRecordBatch = maxRecordBatch, RecordCallsInFlight = recordCallsInFlight,
        };
        var connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(redisOptions));
        _connections.Add(connection);
        var store = new RedisGrantStore(
            connection, Options.Create(redisOptions), Options.Create(options), Options.Create(statusList ?? new StatusListOptions()), time ?? TimeProvider.System,
            NullLogger<RedisGrantStore>.Instance, telemetry ?? GrantStoreTelemetry.None);
        _stores.Add(store);
        return store;
    }

    protected IDatabase Database => _connections[0].GetDatabase();

    protected override async ValueTask DisposeCoreAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await base.DisposeCoreAsync();

    }

    [Fact]
    public async Task RecordAsync_SetsTtlToExpiryPlusRetentionOnEveryKey()
    {
        // Arrange
        var grant = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var tag = GrantId.RoutingTag(Tenant);
        var keys = new RedisGrantKeys(KeyPrefix);

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin", "ttl", Ct);

        // Assert: record and revocation mark live for lifetime + retention; indexes until the grant expires.
        var recordTtl = await Database.KeyTimeToLiveAsync(keys.Grant(tag, grant.Id));
        var markTtl = await Database.KeyTimeToLiveAsync(keys.Revocation(tag, grant.Id));
        Assert.InRange(recordTtl!.Value, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10.5));
        Assert.InRange(markTtl!.Value, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10.5));
        foreach (var index in new[] { keys.TenantIndex(tag, Tenant), keys.SubjectIndex(tag, Tenant, grant.Subject), keys.TaskIndex(tag, Tenant, grant.TaskId) })
        {
            Assert.InRange((await Database.KeyTimeToLiveAsync(index))!.Value, TimeSpan.FromMinutes(9.5), TimeSpan.FromMinutes(10));
        }

        Assert.NotNull(await Database.KeyTimeToLiveAsync(keys.AuditStream(tag)));
        Assert.NotNull(await Database.KeyTimeToLiveAsync(keys.RevocationStream(tag)));
    }

    [Fact]
    public async Task StatusList_ThreeKeysShareOneExpiry_AndTheBitsStringIsTheListAsServed()
    {
        // Arrange
        var grant = NewGrant(lifetime: TimeSpan.FromMinutes(10));
        var tag = GrantId.RoutingTag(Tenant);
        var keys = new RedisGrantKeys(KeyPrefix);

        // Act
        Assert.Equal(0, (await Store.RecordWithStatusAsync(grant, Issued(grant), Ct)).StatusIndex);
        await Store.RevokeAsync(grant.Id, "admin", "bits", Ct);

        // Assert: Redis numbers bits from the most significant, the draft from the least; the script mirrors them, so
        // index 0 is 0x01 in the stored string itself.
        Assert.Equal(new byte[] { 0x01 }, (byte[])(await Database.StringGetAsync(keys.StatusBits(tag, Tenant)))!);

        // Assert: the reuse time of the index (10 min + the 5 min margin) plus a day, the same for the three keys, so
        // they only ever go together.
        var ttls = await Task.WhenAll(new[] { keys.StatusBits(tag, Tenant), keys.StatusQueue(tag, Tenant), keys.StatusOrder(tag, Tenant) }
            .Select(k => Database.KeyTimeToLiveAsync(k)));
        Assert.All(ttls, t => Assert.InRange(t!.Value, TimeSpan.FromMinutes(15) + TimeSpan.FromDays(1) - TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(15) + TimeSpan.FromDays(1) + TimeSpan.FromSeconds(10)));
        Assert.True(ttls.Max() - ttls.Min() < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task StatusList_RecordsWrittenWithoutAnIndex_StillRead_TakeChildren_AndCascade()
    {
        // Arrange: a parent recorded while the status list was off.
        var before = await ConnectStoreAsync(GrantsOptions, new StatusListOptions { Enabled = false });
        var parent = NewGrant();
        Assert.Equal(new RecordGrantOutcome(RecordGrantResult.Recorded, null), await before.RecordWithStatusAsync(parent, Issued(parent), Ct));

        // Act: a child recorded with an index rewrites the parent's record (to link it) and keeps it index-less.
        var child = NewGrant(parent: parent.Id);
        var recorded = await Store.RecordWithStatusAsync(child, Issued(child), Ct);
        var revoked = await Store.RevokeAsync(parent.Id, "admin", "list off", Ct);

        // Assert
        Assert.Null((await Store.FindAsync(parent.Id, Ct))!.StatusIndex);
        AssertSameGrant(parent, await Store.FindAsync(parent.Id, Ct));
        Assert.Equal([child.Id], Assert.IsType<Revoked>(revoked).Descendants.Select(d => d.GrantId));
        Assert.True(StatusIndexing.Get(await Store.ReadStatusListAsync(Tenant, Ct), recorded.StatusIndex!.Value));
    }

    [Fact]
    public async Task StatusList_MoreFreedInOneStepThanAFieldHolds_AllReusedOnce()
    {
        // Arrange: 600 tokens that come free in the same step: more than the 256 a field of the free list holds, so
        // full fields are moved aside.
        var options = new StatusListOptions { Capacity = 1024, ReuseMargin = TimeSpan.Zero, ReuseGranularity = TimeSpan.FromSeconds(3) };
        // Their lifetime outlasts recording them (seconds on a loaded machine), so none comes free within the batch.
        var store = await ConnectStoreAsync(GrantsOptions, options);
        var lifetime = TimeSpan.FromSeconds(4);
        var started = DateTimeOffset.UtcNow;
        var first = await RecordManyWithStatusAsync(store, 600, lifetime);
        var keys = new RedisGrantKeys(KeyPrefix);
        var fields = await Database.HashLengthAsync(keys.StatusQueue(GrantId.RoutingTag(Tenant), Tenant));

        // Act: once they are free (their expiry, plus the reuse step), 600 more.
        var free = started + lifetime + options.ReuseGranularity + TimeSpan.FromSeconds(0.6) - DateTimeOffset.UtcNow;
        await Task.Delay(free > TimeSpan.Zero ? free : TimeSpan.Zero, Ct);
        var second = await RecordManyWithStatusAsync(store, 600, TimeSpan.FromMinutes(10));

        // Assert: the same 600 indexes, each handed out once, and no new one.
        Assert.Equal(Enumerable.Range(0, 600), first.Order());
        Assert.Equal(Enumerable.Range(0, 600), second.Order());
        Assert.InRange(fields, 4, 8);
    }

    private async Task<List<int>> RecordManyWithStatusAsync(RedisGrantStore store, int count, TimeSpan lifetime)
    {
        List<int> indexes = [];
        foreach (var chunk in Enumerable.Range(0, count).Chunk(50))
        {
            var grants = chunk.Select(_ => NewGrant(lifetime: lifetime)).ToList();
            var outcomes = await Task.WhenAll(grants.Select(g => store.RecordWithStatusAsync(g, Issued(g), Ct).AsTask()));
            indexes.AddRange(outcomes.Select(o => o.StatusIndex!.Value));
        }

        return indexes;
    }

    [Fact]
    public async Task Expiry_RecordKeyVanishesWhenTtlPasses()
    {
        // Arrange: no retention, so the record goes when the token expires.
        var store = await ConnectStoreAsync(new GrantsOptions { Retention = TimeSpan.Zero });
        var grant = NewGrant(lifetime: TimeSpan.FromSeconds(1));
        await store.RecordAsync(grant, Issued(grant), Ct);

        // Act
        await Task.Delay(TimeSpan.FromSeconds(1.3), Ct);

        // Assert
        Assert.False(await Database.KeyExistsAsync(new RedisGrantKeys(KeyPrefix).Grant(GrantId.RoutingTag(Tenant), grant.Id)));
        Assert.Equal(GrantState.Unknown, await store.GetStateAsync(grant.Id, Ct));
    }

    [Theory]
    [InlineData("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", null)]
    [InlineData(null, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")]
    [InlineData("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4J", null)]
    [InlineData("jkt-thumbprint", "x5t-thumbprint")]
    public async Task RecordAsync_ThumbprintsCanonicalOrNot_RoundTripExactly(string? jkt, string? x5t)
    {
        // Arrange: canonical base64url of 32 bytes is stored as the bytes; anything else (a last character with
        // spare bits set, another length) as the text.
        var parent = NewGrant();
        await Store.RecordAsync(parent, Issued(parent), Ct);
        var grant = NewGrant(binding: new GrantBinding(jkt, x5t), parent: parent.Id);

        // Act
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(grant, Issued(grant), Ct));

        // Assert
        AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
    }

    [Theory]
    [InlineData(600_000)]
    [InlineData(1_234)]
    [InlineData(20L * 24 * 3600 * 1000 + 7)]
    public async Task RecordAsync_LifetimesShortOrLong_RoundTripToTheMillisecond(long lifetimeMs)
    {
        // Arrange: whole seconds and milliseconds; long enough that the whole expiry is stored.
        var grant = NewGrant(lifetime: TimeSpan.FromMilliseconds(lifetimeMs), actorChain: ["spiffe://acme.example/orchestrator"]) with { ClientId = "spiffe://acme.example/other-client" };

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);

        // Assert
        AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
        Assert.IsType<Revoked>(await Store.RevokeAsync(grant.Id, "admin", "lifetime", Ct));
    }

    [Theory]
    [InlineData("task-3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f")]
    [InlineData("3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f")]
    [InlineData("run:3F2A9C1E-7B4D-4E8A-9C0F-1A2B3C4D5E6F")]
    [InlineData("task-7f3c2a9e")]
    public async Task RecordAsync_TasksWithOrWithoutATrailingUuid_RoundTripAndAreAudited(string taskId)
    {
        // Arrange: a canonical trailing UUID is stored as its bytes; uppercase or none, as text.
        var grant = NewGrant(taskId: taskId);

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin", "task", Ct);

        // Assert: read back, listed by its task, and the revoke script's audit event names it.
        AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
        Assert.Equal(grant.Id, Assert.Single((await Store.ListAsync(GrantQuery.ForTask(Tenant, taskId), null, 10, Ct)).Grants).Id);
        Assert.Equal(taskId, (await Store.ReadAuditAsync(Tenant, 1, Ct))[0].TaskId);
    }

    [Fact]
    public async Task RecordAsync_DictionaryFull_StoresTheStringsInTheRecord()
    {
        // Arrange: both dictionaries of the tag already hold as many strings as they may.
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var filler = Enumerable.Range(0, 8193).Select(i => new HashEntry("=filler-" + i, i)).ToArray();
        await Database.HashSetAsync(keys.Dictionary(tag, 0), filler);
        await Database.HashSetAsync(keys.Dictionary(tag, 1), filler);
        var grant = NewGrant(subject: "spiffe://acme.example/ns/agents/sa/never-seen", actorChain: ["spiffe://acme.example/orchestrator"]);

        // Act
        await Store.RecordAsync(grant, Issued(grant), Ct);
        await Store.RevokeAsync(grant.Id, "admin", "full", Ct);

        // Assert: read, listed and revoked with every string intact; the dictionaries did not grow.
        AssertSameGrant(grant, await Store.FindAsync(grant.Id, Ct));
        var listed = Assert.Single((await Store.ListAsync(GrantQuery.ForSubject(Tenant, grant.Subject), null, 10, Ct)).Grants);
        AssertSameGrant(grant, listed);
        Assert.Equal(GrantStatus.Revoked, listed.Status);
        var audited = (await Store.ReadAuditAsync(Tenant, 1, Ct))[0];
        Assert.Equal((grant.Subject, grant.TaskId), (audited.Subject, audited.TaskId));
        Assert.Equal(8193, await Database.HashLengthAsync(keys.Dictionary(tag, 0)));
        Assert.Equal(8193, await Database.HashLengthAsync(keys.Dictionary(tag, 1)));
    }

    [Fact]
    public async Task RecordAsync_Children_FirstInTheParentsRecordThenInItsChildrenKey_LinkedAsLongAsTheyLive()
    {
        // Arrange: a ten-minute parent and ten children that outlive it (the store does not bound them; policy does).
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);
        var parent = NewGrant(actorChain: ["spiffe://acme.example/orchestrator"], binding: new GrantBinding("jkt-thumbprint", null));
        await Store.RecordAsync(parent, Issued(parent), Ct);
        var children = Enumerable.Range(0, 10).Select(_ => NewGrant(parent: parent.Id, lifetime: TimeSpan.FromMinutes(20))).ToList();

        // Act
        foreach (var child in children)
        {
            Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(child, Issued(child), Ct));
        }

        // Assert: the record, rewritten with its first eight children, reads back the same; the other two are in the
        // children key, as tag-less IDs; both the record and that key live as long as the children's records.
        AssertSameGrant(parent, await Store.FindAsync(parent.Id, Ct));
        var overflow = (string?)await Database.StringGetAsync(keys.Children(tag, parent.Id));
        Assert.Equal(string.Concat(children.Skip(RedisGrantRecordCodec.InlineChildren).Select(c => c.Id[(GrantId.RoutingTagLength + 1)..])), overflow);
        var childTtl = (await Database.KeyTimeToLiveAsync(keys.Grant(tag, children[^1].Id)))!.Value;
        Assert.True((await Database.KeyTimeToLiveAsync(keys.Grant(tag, parent.Id)))!.Value >= childTtl - TimeSpan.FromSeconds(1));
        Assert.True((await Database.KeyTimeToLiveAsync(keys.Children(tag, parent.Id)))!.Value >= childTtl - TimeSpan.FromSeconds(1));
        var revoked = Assert.IsType<Revoked>(await Store.RevokeAsync(parent.Id, "admin", "x", Ct));
        Assert.Equal(children.Select(c => c.Id), revoked.Descendants.Select(e => e.GrantId));
    }

    [Fact]
    public async Task RecordAsync_GoldenFamily_WritesTheGoldenBytes()
    {
        // Arrange: a store whose clock is the golden grants' time, on a key prefix nothing else has written to.
        var store = await ConnectStoreAsync(new GrantsOptions { Retention = GoldenFamily.Retention }, new StatusListOptions(), GoldenFamily.Clock());
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(GoldenFamily.Parent.Tenant);

        // Act: the parent, then the child, which the record script links to it.
        Assert.Equal(0, (await store.RecordWithStatusAsync(GoldenFamily.Parent, Issued(GoldenFamily.Parent), Ct)).StatusIndex);
        Assert.Equal(1, (await store.RecordWithStatusAsync(GoldenFamily.Child, Issued(GoldenFamily.Child), Ct)).StatusIndex);

        // Assert: byte for byte what the codec's unit tests pack (Broker.Tests' GoldenRecordTests), and read back whole.
        Assert.Equal(GoldenFamily.ParentHex, Convert.ToHexStringLower((byte[])(await Database.StringGetAsync(keys.Grant(tag, GoldenFamily.Parent.Id)))!));
        Assert.Equal(GoldenFamily.ChildHex, Convert.ToHexStringLower((byte[])(await Database.StringGetAsync(keys.Grant(tag, GoldenFamily.Child.Id)))!));
        AssertSameGrant(GoldenFamily.Parent, await store.FindAsync(GoldenFamily.Parent.Id, Ct));
        AssertSameGrant(GoldenFamily.Child, await store.FindAsync(GoldenFamily.Child.Id, Ct));
    }

    [Fact]
    public async Task RecordAsync_SharedGrant_WritesTheGoldenBytesAndReadsTheConsumerBack()
    {
        // Arrange
        var store = await ConnectStoreAsync(new GrantsOptions { Retention = GoldenFamily.Retention }, new StatusListOptions(), GoldenFamily.Clock());
        var keys = new RedisGrantKeys(KeyPrefix);
        var tag = GrantId.RoutingTag(GoldenFamily.Shared.Tenant);

        // Act
        Assert.Equal(0, (await store.RecordWithStatusAsync(GoldenFamily.Shared, Issued(GoldenFamily.Shared), Ct)).StatusIndex);

        // Assert: the bytes Broker.Tests' GoldenRecordTests packs, and the consuming tenant read back.
        Assert.Equal(GoldenFamily.SharedHex, Convert.ToHexStringLower((byte[])(await Database.StringGetAsync(keys.Grant(tag, GoldenFamily.Shared.Id)))!));
        var found = await store.FindAsync(GoldenFamily.Shared.Id, Ct);
        AssertSameGrant(GoldenFamily.Shared with { StatusIndex = 0 }, found);
        Assert.Equal("payments", found!.ConsumerTenant);
    }

    [Fact]
    public async Task IsReadyAsync_ReachableRedis_IsTrue()
        => Assert.True(await Store.IsReadyAsync(Ct));
}
