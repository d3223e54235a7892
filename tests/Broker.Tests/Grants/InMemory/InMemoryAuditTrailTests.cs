using Broker.Audit;
using Broker.Grants;
using Broker.Grants.InMemory;

namespace Broker.Tests.Grants.InMemory;

public sealed class InMemoryAuditTrailTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Append_PastTheCap_KeepsExactlyTheNewestInOrder()
    {
        // Arrange: a cap that the ring wraps around more than twice.
        var trail = new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 100, GlobalAuditMaxLength = 100 });

        // Act
        for (var i = 0; i < 250; i++)
        {
            trail.Append(Event(i % 2 == 0 ? "acme" : "globex", i), Start);
        }

        // Assert: 100 kept, the newest; a tenant's read filters them newest first.
        Assert.Equal(Enumerable.Range(150, 100).Select(i => $"e{i}"), trail.All.Select(e => e.Reason));
        Assert.Equal(["e248", "e246", "e244"], trail.Read("acme", 3, Start).Select(e => e.Reason));
        Assert.Equal(50, trail.Read("globex", 1000, Start).Count);
        Assert.Empty(trail.Read(null, 10, Start));
    }

    [Fact]
    public void Append_TenantAndGlobalEvents_CappedApartAndListedInAppendOrder()
    {
        var trail = new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 3, GlobalAuditMaxLength = 2 });

        trail.Append(Event("acme", 0), Start);
        trail.Append(Event(null, 1), Start);
        trail.Append(Event("acme", 2), Start);
        trail.Append(Event(string.Empty, 3), Start);
        trail.Append(Event(null, 4), Start);
        trail.Append(Event("acme", 5), Start);
        trail.Append(Event("acme", 6), Start);

        Assert.Equal(["e2", "e3", "e4", "e5", "e6"], trail.All.Select(e => e.Reason));
        Assert.Equal(["e4", "e3"], trail.Read(string.Empty, 10, Start).Select(e => e.Reason));
        Assert.Equal(["e6", "e5", "e2"], trail.Read("acme", 10, Start).Select(e => e.Reason));
    }

    [Fact]
    public void Read_AfterRetention_DropsOlderEventsEvenAfterTheRingWrapped()
    {
        var trail = new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 4, AuditRetention = TimeSpan.FromMinutes(10) });
        for (var i = 0; i < 6; i++)
        {
            trail.Append(Event("acme", i, Start.AddMinutes(i)), Start.AddMinutes(i));
        }

        // Events at minutes 2..5 were kept; at minute 13, those older than minute 3 are past retention.
        var read = trail.Read("acme", 10, Start.AddMinutes(13));

        Assert.Equal(["e5", "e4", "e3"], read.Select(e => e.Reason));
        Assert.Equal(["e3", "e4", "e5"], trail.All.Select(e => e.Reason));
        trail.Append(Event("acme", 6, Start.AddMinutes(40)), Start.AddMinutes(40));
        Assert.Equal(["e6"], trail.All.Select(e => e.Reason));
    }

    [Fact]
    public void Append_AfterTheRingWrapped_GrowsKeepingTheOrder()
    {
        // Arrange: 16 events (the ring's first size), the 5 oldest past retention, so the ring's start moves on; then
        // more than the room that leaves, so it wraps and then grows while wrapped.
        var trail = new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 100, AuditRetention = TimeSpan.FromMinutes(10) });
        for (var i = 0; i < 16; i++)
        {
            trail.Append(Event("acme", i, Start.AddMinutes(i < 5 ? 0 : 5)), Start);
        }

        // Act: at minute 12 the 5 events of minute 0 go (a read trims); 20 more wrap around and grow the ring.
        Assert.Equal(11, trail.Read("acme", 100, Start.AddMinutes(12)).Count);
        for (var i = 16; i < 36; i++)
        {
            trail.Append(Event(i % 3 == 0 ? "globex" : "acme", i, Start.AddMinutes(12)), Start.AddMinutes(12));
        }

        // Assert
        Assert.Equal(Enumerable.Range(5, 31).Select(i => $"e{i}"), trail.All.Select(e => e.Reason));
        Assert.Equal(["e35", "e34", "e32", "e31"], trail.Read("acme", 4, Start.AddMinutes(12)).Select(e => e.Reason));
        Assert.Equal(["e33", "e30", "e27"], trail.Read("globex", 3, Start.AddMinutes(12)).Select(e => e.Reason));
    }

    [Fact]
    public void Append_CapOfOne_KeepsTheLatestOnly()
    {
        var trail = new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 1, GlobalAuditMaxLength = 1 });

        trail.Append(Event("acme", 0), Start);
        trail.Append(Event("acme", 1), Start);
        trail.Append(Event(null, 2), Start);
        trail.Append(Event("acme", 3), Start);

        Assert.Equal(["e2", "e3"], trail.All.Select(e => e.Reason));
        Assert.Equal(["e3"], trail.Read("acme", 10, Start).Select(e => e.Reason));
    }

    [Fact]
    public void New_CapBelowOne_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryAuditTrail(new GrantsOptions { AuditMaxLength = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryAuditTrail(new GrantsOptions { GlobalAuditMaxLength = -1 }));
    }

    private static AuditEvent Event(string? tenant, int number, DateTimeOffset? time = null) => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = time ?? Start,
        Outcome = AuditOutcome.Denied,
        Tenant = tenant,
        Reason = $"e{number}",
    };
}
