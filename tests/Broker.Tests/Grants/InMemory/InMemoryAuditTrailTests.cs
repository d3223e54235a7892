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

    private static AuditEvent Event(string? tenant, int number, DateTimeOffset? time = null) => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = time ?? Start,
        Outcome = AuditOutcome.Denied,
        Tenant = tenant,
        Reason = $"e{number}",
    };
}
