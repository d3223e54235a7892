using Broker.Audit;
using Broker.Grants;
using Broker.Grants.InMemory;

namespace Broker.Tests.Grants.InMemory;

public sealed class InMemoryStringsTests
{
    [Fact]
    public void Intern_TwoGrantsParsedApart_ShareTheirRepeatedStringsAndLists()
    {
        var strings = new InMemoryStrings();

        var first = strings.Intern(Grant("g1"));
        var second = strings.Intern(Grant("g2"));

        Assert.Same(first.Tenant, second.Tenant);
        Assert.Same(first.Subject, second.Subject);
        Assert.Same(first.Audience, second.Audience);
        Assert.Same(first.TaskId, second.TaskId);
        Assert.Same(first.Purpose, second.Purpose);
        Assert.Same(first.PolicyVersion, second.PolicyVersion);
        Assert.Same(first.Capabilities, second.Capabilities);
        Assert.Same(first.ActorChain, second.ActorChain);
        GrantAssert.Same(Grant("g2"), second);
    }

    [Fact]
    public void Intern_ListChangedAfterwards_TheKeptListDoesNotChange()
    {
        var strings = new InMemoryStrings();
        List<string> capabilities = ["files.read", "files.write"];

        var kept = strings.Intern(Grant("g1") with { Capabilities = capabilities });
        capabilities[0] = "admin.everything";
        capabilities.Add("more");

        Assert.Equal(["files.read", "files.write"], kept.Capabilities);
        Assert.Equal(["files.read", "files.write"], strings.Intern(Grant("g2")).Capabilities);
    }

    [Fact]
    public void Intern_DifferentOrderOrContent_AreDifferentLists()
    {
        var strings = new InMemoryStrings();

        var ab = strings.Intern(new[] { "a", "b" });
        var ba = strings.Intern(new[] { "b", "a" });
        var abc = strings.Intern(new[] { "a", "b", "c" });

        Assert.Equal(["a", "b"], ab);
        Assert.Equal(["b", "a"], ba);
        Assert.Equal(["a", "b", "c"], abc);
        Assert.Same(ab, strings.Intern(new List<string> { "a", "b" }));
        Assert.Empty(strings.Intern(Array.Empty<string>()));
    }

    [Fact]
    public void Intern_LongString_KeptAsItIs()
    {
        var strings = new InMemoryStrings();
        var longValue = new string('x', InMemoryStrings.MaxLength + 1);
        var shortValue = new string('y', InMemoryStrings.MaxLength);

        Assert.Same(longValue, strings.Intern(longValue));
        Assert.NotSame(longValue, strings.Intern(new string('x', InMemoryStrings.MaxLength + 1)));
        var pooled = strings.Intern(shortValue);
        Assert.Same(pooled, strings.Intern(new string('y', InMemoryStrings.MaxLength)));
    }

    [Fact]
    public void Intern_ManyValuesThatNeverRepeat_OneThatDoesStaysShared()
    {
        var strings = new InMemoryStrings();
        var tenant = strings.Intern(Copy("acme"));

        // Far more distinct values than the pool holds, with the repeated one seen now and then.
        for (var i = 0; i < 4 * InMemoryStrings.Capacity; i++)
        {
            strings.Intern(Guid.NewGuid().ToString());
            if (i % 1000 == 0)
            {
                Assert.Same(tenant, strings.Intern(Copy("acme")));
            }
        }
    }

    [Fact]
    public void Intern_EverNewLists_TableStaysBoundedAndKeepsSharing()
    {
        var strings = new InMemoryStrings();

        // More distinct lists than the table holds (permutations a caller could send), then a repeated one.
        for (var i = 0; i < InMemoryStrings.Capacity + 10; i++)
        {
            strings.Intern(new[] { $"scope-{i}", "files.read" });
        }

        var first = strings.Intern(new[] { "files.read", "files.write" });
        Assert.Same(first, strings.Intern(new List<string> { "files.read", "files.write" }));
        Assert.InRange(strings.ListCount, 1, InMemoryStrings.Capacity);
    }

    [Fact]
    public void Intern_AuditEvent_SharesStringsWithTheGrant()
    {
        var strings = new InMemoryStrings();
        var grant = strings.Intern(Grant("g1"));

        var kept = strings.Intern(new AuditEvent
        {
            Type = AuditEventTypes.TokenExchange,
            Time = grant.IssuedAt,
            Outcome = AuditOutcome.Allowed,
            Tenant = Copy("acme"),
            Subject = Copy("spiffe://acme.example/agent"),
            GrantedCapabilities = [Copy("files.read"), Copy("files.write")],
            GrantId = "g1",
            Reason = "kept as it is",
        });

        Assert.Same(grant.Tenant, kept.Tenant);
        Assert.Same(grant.Subject, kept.Subject);
        Assert.Same(grant.Capabilities, kept.GrantedCapabilities);
        Assert.Equal("g1", kept.GrantId);
        Assert.Equal("kept as it is", kept.Reason);
        Assert.Null(kept.Audience);
    }

    // A fresh string with the same content, as parsing a request gives.
    private static string Copy(string value) => new(value.AsSpan());

    private static GrantRecord Grant(string id) => new()
    {
        Id = id,
        Tenant = Copy("acme"),
        Subject = Copy("spiffe://acme.example/agent"),
        ClientId = Copy("spiffe://acme.example/agent"),
        ActorChain = [Copy("spiffe://acme.example/orchestrator")],
        Capabilities = [Copy("files.read"), Copy("files.write")],
        Audience = Copy("mcp://files.example"),
        TaskId = Copy("task-42"),
        Purpose = Copy("summarise the quarter"),
        IssuedAt = new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero),
        ExpiresAt = new DateTimeOffset(2026, 12, 2, 9, 5, 0, TimeSpan.Zero),
        PolicyVersion = Copy("sha256:abc"),
    };
}
