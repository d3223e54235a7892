using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Redis;
using Broker.Policy;
using Broker.Review;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Review;

/// <summary>
/// The grant counters' store contract, run against memory and a real redis-server: sums over days, the cap of distinct
/// (capability, identity) pairs per tenant-day with its overflow count (exact under concurrent flushes), tenants apart.
/// </summary>
public abstract class UsageStoreContractTests : IAsyncLifetime
{
    protected const int Cap = 100;
    protected const string Tenant = "acme";
    protected static readonly DateOnly Today = new(2026, 12, 2);

    private protected static readonly ReviewOptions Options = new() { MaxIdentitiesPerDay = Cap, RetentionDays = 30 };

    private protected abstract IUsageStore Store { get; }

    public abstract ValueTask InitializeAsync();

    public abstract ValueTask DisposeAsync();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected static UsageBatch Batch(DateOnly day, IEnumerable<(string Capability, string Identity, long Count)> counts, long overflow = 0, string tenant = Tenant) =>
        new(tenant, day, counts.ToDictionary(c => new UsageKey(c.Capability, c.Identity), c => c.Count), overflow);

    private static IEnumerable<(string, string, long)> Agents(int from, int count, long each = 1) =>
        Enumerable.Range(from, count).Select(i => ("invoices.read", $"spiffe://acme.test/agents/a{i}", each));

    [Fact]
    public async Task Read_SumsTheDaysAskedFor_Only()
    {
        // Arrange
        await Store.AddAsync([Batch(Today, [("invoices.read", "spiffe://acme.test/a", 2), ("crm.read", "spiffe://acme.test/a", 1)])], Ct);
        await Store.AddAsync([Batch(Today.AddDays(-1), [("invoices.read", "spiffe://acme.test/a", 3)]), Batch(Today.AddDays(-5), [("invoices.read", "spiffe://acme.test/b", 9)])], Ct);

        // Act
        var two = await Store.ReadAsync(Tenant, [Today.AddDays(-1), Today], Ct);

        // Assert
        Assert.Equal(5, two.ByCapability["invoices.read"]["spiffe://acme.test/a"]);
        Assert.Equal(1, two.ByCapability["crm.read"]["spiffe://acme.test/a"]);
        Assert.False(two.ByCapability["invoices.read"].ContainsKey("spiffe://acme.test/b"));
        Assert.Equal(6, two.Total);
        Assert.Equal(0, two.Overflow);
    }

    [Fact]
    public async Task Add_PastTheCap_CountsNewPairsAsOverflow_AndKeepsCountingKnownOnes()
    {
        // Act: 150 distinct pairs against a cap of 100, then the same 150 again, plus 7 the queue turned away.
        await Store.AddAsync([Batch(Today, Agents(0, 150))], Ct);
        await Store.AddAsync([Batch(Today, Agents(0, 150), overflow: 7)], Ct);
        var tally = await Store.ReadAsync(Tenant, [Today], Ct);

        // Assert: exactly the cap of pairs; every grant counted once, identified or as overflow.
        var pairs = tally.ByCapability["invoices.read"];
        Assert.Equal(Cap, pairs.Count);
        Assert.All(pairs.Values, v => Assert.Equal(2, v));
        Assert.Equal(100 + 7, tally.Overflow);
        Assert.Equal(300 + 7, tally.Total);
    }

    [Fact]
    public async Task Add_ConcurrentFlushes_NeverExceedTheCap()
    {
        // Two replicas flush 80 new pairs each into the same day at once.
        await Task.WhenAll(
            Task.Run(async () => await Store.AddAsync([Batch(Today, Agents(0, 80))], Ct), Ct),
            Task.Run(async () => await Store.AddAsync([Batch(Today, Agents(1000, 80))], Ct), Ct));

        var tally = await Store.ReadAsync(Tenant, [Today], Ct);
        Assert.Equal(Cap, tally.ByCapability["invoices.read"].Count);
        Assert.Equal(60, tally.Overflow);
        Assert.Equal(160, tally.Total);
    }

    [Fact]
    public async Task Tenants_AreCountedApart()
    {
        await Store.AddAsync([Batch(Today, [("reports.read", "spiffe://globex.test/a", 4)], tenant: "globex"), Batch(Today, [("invoices.read", "spiffe://acme.test/a", 1)])], Ct);

        var acme = await Store.ReadAsync(Tenant, [Today], Ct);
        var globex = await Store.ReadAsync("globex", [Today], Ct);

        Assert.False(acme.ByCapability.ContainsKey("reports.read"));
        Assert.Equal(4, globex.Total);
    }

    [Fact]
    public async Task Read_NothingCounted_IsEmpty()
    {
        var tally = await Store.ReadAsync("nobody", [Today], Ct);

        Assert.Empty(tally.ByCapability);
        Assert.Equal(0, tally.Total);
    }
}

/// <summary>The contract against the in-memory store, on a fake clock.</summary>
public sealed class InMemoryUsageStoreTests : UsageStoreContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
    private InMemoryUsageStore? _store;

    private protected override IUsageStore Store => _store!;

    public override ValueTask InitializeAsync()
    {
        _store = new InMemoryUsageStore(Microsoft.Extensions.Options.Options.Create(Options), _time);
        return ValueTask.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Add_DropsDaysOlderThanTheRetention()
    {
        // Arrange: a day within the retention and one past it.
        await Store.AddAsync([Batch(Today.AddDays(-Options.RetentionDays), [("invoices.read", "x://kept", 1)]), Batch(Today.AddDays(-Options.RetentionDays - 1), [("invoices.read", "x://old", 1)])], Ct);

        // Act
        var tally = await Store.ReadAsync(Tenant, [Today.AddDays(-Options.RetentionDays - 1), Today.AddDays(-Options.RetentionDays)], Ct);

        // Assert
        Assert.Equal(["x://kept"], tally.ByCapability["invoices.read"].Keys);
    }
}

/// <summary>The contract against a real redis-server, with a key prefix of its own.</summary>
public sealed class RedisUsageStoreTests(RedisServerFixture redis) : UsageStoreContractTests
{
    private ConnectionMultiplexer? _connection;
    private RedisUsageStore? _store;

    private protected override IUsageStore Store => _store!;

    public override async ValueTask InitializeAsync()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new RedisOptions { Configuration = redis.Configuration, KeyPrefix = RedisServerFixture.NewKeyPrefix() });
        _connection = await ConnectionMultiplexer.ConnectAsync(RedisConnectionFactory.CreateConfiguration(options.Value));
        _store = new RedisUsageStore(_connection, options, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<RedisUsageStore>.Instance);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task DayHash_CarriesTheRoutingTag_AndExpiresRetentionPlusOneDayAfterItsLastWrite()
    {
        // Act
        await Store.AddAsync([Batch(Today, [("invoices.read", "spiffe://acme.test/a", 1)])], Ct);

        // Assert
        var key = _store!.DayKey(Tenant, Today);
        Assert.Contains("{" + GrantId.RoutingTag(Tenant) + "}", key.ToString(), StringComparison.Ordinal);
        Assert.EndsWith(":u:4:acme:20261202", key.ToString(), StringComparison.Ordinal);
        var ttl = await _connection!.GetDatabase().KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromDays(Options.RetentionDays), TimeSpan.FromDays(Options.RetentionDays + 1));
        Assert.Equal(1, await _connection.GetDatabase().HashGetAsync(key, "invoices.read spiffe://acme.test/a"));
    }

    [Fact]
    public async Task Add_ManyPairs_AreSentInSeveralCalls_AndAllCounted()
    {
        // More pairs than one script call takes, against a cap that allows them all.
        var store = new RedisUsageStore(
            _connection!,
            Microsoft.Extensions.Options.Options.Create(new RedisOptions { Configuration = redis.Configuration, KeyPrefix = RedisServerFixture.NewKeyPrefix() }),
            Microsoft.Extensions.Options.Options.Create(new ReviewOptions { MaxIdentitiesPerDay = 5000 }),
            NullLogger<RedisUsageStore>.Instance);
        var pairs = Enumerable.Range(0, (RedisUsageStore.FieldsPerCall * 2) + 3).Select(i => ("invoices.read", $"spiffe://acme.test/agents/a{i}", 1L)).ToList();

        await store.AddAsync([Batch(Today, pairs, overflow: 2)], Ct);
        var tally = await store.ReadAsync(Tenant, [Today], Ct);

        Assert.Equal(pairs.Count, tally.ByCapability["invoices.read"].Count);
        Assert.Equal(2, tally.Overflow);
    }

    [Fact]
    public async Task Add_RedisDown_ThrowsTheStoresUnavailableException()
    {
        // A closed port: the store fails closed with its one exception type, which the flusher logs and drops.
        var options = Microsoft.Extensions.Options.Options.Create(new RedisOptions { Configuration = "127.0.0.1:1,abortConnect=false,connectTimeout=200", KeyPrefix = "x:", OperationTimeout = TimeSpan.FromMilliseconds(300) });
        await using var down = await ConnectionMultiplexer.ConnectAsync(options.Value.Configuration!);
        var store = new RedisUsageStore(down, options, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<RedisUsageStore>.Instance);

        await Assert.ThrowsAsync<GrantStoreUnavailableException>(async () => await store.AddAsync([Batch(Today, [("a", "b", 1)])], Ct));
        await Assert.ThrowsAsync<GrantStoreUnavailableException>(async () => await store.ReadAsync(Tenant, [Today], Ct));
    }
}

/// <summary>The recorder's queue: bounded, never blocking, what it turns away counted as overflow by the flusher.</summary>
public sealed class UsageRecorderTests
{
    [Fact]
    public async Task Record_QueueFull_CountsTheRestAsOverflow_AndTheFlusherWritesBoth()
    {
        // Arrange: the smallest queue, and a grant with more capabilities than it holds.
        var options = Microsoft.Extensions.Options.Options.Create(new ReviewOptions { QueueCapacity = 1024 });
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var recorder = new UsageRecorder(options, NullLogger<UsageRecorder>.Instance);
        var store = new InMemoryUsageStore(options, time);
        using var flusher = new UsageFlusher(recorder, store, options, time, NullLogger<UsageFlusher>.Instance);
        var grant = new GrantRecord
        {
            Id = "g",
            Tenant = "acme",
            Subject = "alice",
            ClientId = "c",
            Capabilities = [.. Enumerable.Range(0, 1030).Select(i => $"cap{i}")],
            Audience = "https://mcp.acme.test",
            TaskId = "t",
            Purpose = "p",
            IssuedAt = time.GetUtcNow(),
            ExpiresAt = time.GetUtcNow().AddMinutes(5),
            PolicyVersion = "v",
        };
        var subject = new WorkloadIdentity
        {
            Id = "alice",
            Kind = IdentityKind.Oidc,
            Source = "https://login.acme.test",
            Claims = new Dictionary<string, IReadOnlyList<string>>(),
            ExpiresAt = time.GetUtcNow().AddMinutes(5),
            KeyId = "k",
        };

        // Act
        recorder.Record(grant, subject);
        await flusher.FlushAsync(TestContext.Current.CancellationToken);
        var tally = await store.ReadAsync("acme", [new DateOnly(2026, 12, 2)], TestContext.Current.CancellationToken);

        // Assert: 1024 counted with their (issuer-qualified) identity, 6 as overflow, nothing left behind.
        Assert.Equal(1024, tally.ByCapability.Count);
        Assert.Equal(1, tally.ByCapability["cap0"]["oidc:https://login.acme.test#alice"]);
        Assert.Equal(6, tally.Overflow);
        Assert.False(recorder.TryTake(out _));
    }
}
