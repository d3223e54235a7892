using Broker.Grants;
using Broker.Grants.Redis;

namespace Broker.Tests.Grants.Redis;

/// <summary>
/// Two grants of one family, every record position used between them, and the exact bytes the Redis record script
/// writes for them. <c>RedisGrantStoreTestBase.RecordAsync_GoldenFamily_WritesTheGoldenBytes</c> (integration, real
/// redis-server) checks the script writes these bytes; here they pin <see cref="RecordScript"/>, which the codec's
/// unit tests pack with, to the script.
/// </summary>
public sealed class GoldenRecordTests
{
    /// <summary>When both are recorded (Unix ms), parent first, with the status list on (indexes 0 and 1).</summary>
    internal const long Now = 1_764_000_000_123;

    /// <summary>The parent's record once the child is linked to it: status index 0, no parent, one child.</summary>
    internal const string ParentHex =
        "dc0010ceb6a1103bd1fda80203040501b03f2a9c1e7b4d4e8a9c0f1a2b3c4d5e6f060708090ac2c20b00c2b6424242424242"
        + "42424242424242424242424242424242";

    /// <summary>The child's record: status index 1, then its parent's ID without the routing tag.</summary>
    internal const string ChildHex =
        "9fceb69949ffce0001618402030c05ad7461736b2d3766336332613965c20607c2c2c2080d01b64141414141414141414141"
        + "4141414141414141414141";

    internal static readonly TimeSpan Retention = TimeSpan.FromMinutes(15);

    /// <summary>Delegated, an explicit client, a task ending in a UUID, a canonical <c>jkt</c> and a textual <c>x5t#S256</c>.</summary>
    internal static GrantRecord Parent { get; } = new()
    {
        Id = GrantId.RoutingTag("acme") + ".AAAAAAAAAAAAAAAAAAAAAA",
        Tenant = "acme",
        Subject = "spiffe://acme.example/ns/agents/sa/researcher",
        ClientId = "spiffe://acme.example/ns/tools/sa/client",
        ActorChain = ["spiffe://acme.example/ns/orchestrator/sa/planner", "spiffe://acme.example/ns/ci/sa/runner"],
        Capabilities = ["files.read", "search.query"],
        Audience = "https://mcp.acme.example/files",
        TaskId = "task-3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f",
        Purpose = "summarise the quarterly report",
        IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(Now),
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(Now + 600_000),
        Binding = new GrantBinding("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "x5t-thumbprint"),
        PolicyVersion = "sha256-Yt0nN3gkA0bS3rQ6yJ8c2mTt9u1w4x5z7a8b9c0d1e2",
        StatusIndex = 0,
    };

    /// <summary>Narrowed from the parent: undelegated, a plain task, a textual <c>jkt</c> and a canonical <c>x5t#S256</c>, 90.5 s.</summary>
    internal static GrantRecord Child { get; } = Parent with
    {
        Id = GrantId.RoutingTag("acme") + ".BBBBBBBBBBBBBBBBBBBBBB",
        ClientId = "spiffe://acme.example/ns/agents/sa/researcher",
        ActorChain = [],
        Capabilities = ["files.read"],
        TaskId = "task-7f3c2a9e",
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(Now + 90_500),
        Binding = new GrantBinding("jkt-thumbprint", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        ParentGrantId = GrantId.RoutingTag("acme") + ".AAAAAAAAAAAAAAAAAAAAAA",
        StatusIndex = 1,
    };

    /// <summary>A grant of a capability shared across tenants: position 17 holds the consuming tenant.</summary>
    internal const string SharedHex = "dc0011ceb6a1103bd1fda801020304a67461736b2d31c20506c2c2c2c2c2c20700";

    /// <summary>Shared by <c>acme</c> with <c>payments</c>, recorded alone (status index 0).</summary>
    internal static GrantRecord Shared { get; } = Parent with
    {
        Id = GrantId.RoutingTag("acme") + ".CCCCCCCCCCCCCCCCCCCCCC",
        Subject = "spiffe://payments.example/agents/reconciler",
        ClientId = "spiffe://payments.example/agents/reconciler",
        ActorChain = [],
        Capabilities = ["files.read"],
        TaskId = "task-1",
        Binding = null,
        ConsumerTenant = "payments",
        StatusIndex = 0,
    };

    [Fact]
    public void RecordScript_SharedGrant_WritesWhatTheRedisScriptWritesAndReadsItBack()
    {
        // Arrange
        var codec = new RedisGrantRecordCodec(Retention);
        var script = new RecordScript();

        // Act
        var record = script.Record(codec.Encode(Shared, Now), 0, RedisGrantRecordCodec.Consumer(Shared));
        var decoded = codec.Decode(Shared.Id, script.Read(record), Now);

        // Assert
        Assert.Equal(SharedHex, Convert.ToHexStringLower(record));
        GrantAssert.Same(Shared, decoded);
    }

    [Fact]
    public void RecordScript_GoldenFamily_WritesWhatTheRedisScriptWrites()
    {
        // Arrange
        var codec = new RedisGrantRecordCodec(Retention);
        var script = new RecordScript();

        // Act: the parent, the child, then the link the record script adds to the parent.
        var parent = script.Record(codec.Encode(Parent, Now), 0);
        var child = script.Record(codec.Encode(Child, Now), 1);
        parent = RecordScript.Link(parent, 0, null, string.Empty, RedisGrantKeys.IndexMember(Child.Id));

        // Assert
        Assert.Equal(ParentHex, Convert.ToHexStringLower(parent));
        Assert.Equal(ChildHex, Convert.ToHexStringLower(child));
    }

    [Fact]
    public void Decode_GoldenFamily_ReadsBothGrantsBack()
    {
        // Arrange: the dictionary as the script numbered it.
        var codec = new RedisGrantRecordCodec(Retention);
        var script = new RecordScript();
        script.Record(codec.Encode(Parent, Now), 0);
        script.Record(codec.Encode(Child, Now), 1);

        // Act
        var parent = codec.Decode(Parent.Id, script.Read(Convert.FromHexString(ParentHex)), Now);
        var child = codec.Decode(Child.Id, script.Read(Convert.FromHexString(ChildHex)), Now);

        // Assert
        GrantAssert.Same(Parent, parent);
        GrantAssert.Same(Child, child);
    }
}
