using System.Text;
using Broker.AuthZen;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests.AuthZen;

/// <summary>
/// The optional decision cache: only for decision points that set <c>cache_ttl</c>, keyed on the whole evaluation
/// request and the decision point, kept for exactly its lifetime, and bounded.
/// </summary>
public sealed class AuthZenDecisionCacheTests
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"subject":{"type":"workload","id":"a"}}""");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    private static DecisionPoint Point(string name = "opa", TimeSpan? cacheFor = null) => new()
    {
        Tenant = "acme",
        Name = name,
        EvaluationEndpoint = new Uri("https://pdp.acme.test/access/v1/evaluation"),
        Timeout = TimeSpan.FromSeconds(1),
        CacheFor = cacheFor,
    };

    private AuthZenDecisionCache Cache(int size = 100) => new(Options.Create(new AuthZenOptions { DecisionCacheSize = size }), _time);

    [Fact]
    public void Get_DecisionPointWithoutCacheTtl_NothingKept()
    {
        // Arrange
        using var cache = Cache();
        var point = Point();

        // Act
        cache.Set(point, Body, true);

        // Assert
        Assert.Null(cache.Get(point, Body));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Get_WithinTheLifetime_TheDecision_AfterIt_Nothing()
    {
        // Arrange
        using var cache = Cache();
        var point = Point(cacheFor: TimeSpan.FromSeconds(10));
        cache.Set(point, Body, false);

        // Act
        _time.Advance(TimeSpan.FromSeconds(9));
        var within = cache.Get(point, Body);
        _time.Advance(TimeSpan.FromSeconds(1));
        var after = cache.Get(point, Body);

        // Assert: an absolute lifetime, not extended by reads.
        Assert.False(within);
        Assert.Null(after);
    }

    [Fact]
    public void Get_AnotherBodyOrAnotherDecisionPoint_NotTheCachedDecision()
    {
        // Arrange
        using var cache = Cache();
        var point = Point(cacheFor: TimeSpan.FromMinutes(1));
        cache.Set(point, Body, true);

        // Act
        var otherBody = cache.Get(point, Encoding.UTF8.GetBytes("""{"subject":{"type":"workload","id":"b"}}"""));
        var otherPoint = cache.Get(Point("cedar", TimeSpan.FromMinutes(1)), Body);
        var otherUrl = cache.Get(point with { EvaluationEndpoint = new Uri("https://other.acme.test/access/v1/evaluation") }, Body);

        // Assert
        Assert.True(cache.Get(point, Body));
        Assert.Null(otherBody);
        Assert.Null(otherPoint);
        Assert.Null(otherUrl);
    }

    [Fact]
    public void Set_MoreThanTheSize_NeverHoldsMore()
    {
        // Arrange
        using var cache = Cache(size: 4);
        var point = Point(cacheFor: TimeSpan.FromMinutes(1));

        // Act
        var counts = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            cache.Set(point, Encoding.UTF8.GetBytes($$"""{"n":{{i}}}"""), true);
            counts.Add(cache.Count);
        }

        // Assert
        Assert.All(counts, c => Assert.InRange(c, 0, 4));
    }
}
