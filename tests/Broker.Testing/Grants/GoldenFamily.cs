using Broker.Grants;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Testing.Grants;

/// <summary>
/// Two grants of one family that use every record position between them, a grant shared across tenants, and the
/// exact bytes the Redis record script writes for them. Both sides hold to these: the Redis store's integration tests
/// (<c>RedisGrantStoreTestBase.RecordAsync_GoldenFamily_WritesTheGoldenBytes</c>, real redis-server) and the codec's
/// unit tests (<c>Broker.Tests/Grants/Redis/GoldenRecordTests</c>, whose record packer they pin to the script).
/// </summary>
internal static class GoldenFamily
{
    /// <summary>When both are recorded (Unix ms), parent first, with the status list on (indexes 0 and 1).</summary>
    public const long Now = 1_764_000_000_123;

    /// <summary>The parent's record once the child is linked to it: status index 0, no parent, one child.</summary>
    public const string ParentHex =
        "dc0010ceb6a1103bd1fda80203040501b03f2a9c1e7b4d4e8a9c0f1a2b3c4d5e6f060708090ac2c20b00c2b6424242424242"
        + "42424242424242424242424242424242";

    /// <summary>The child's record: status index 1, then its parent's ID without the routing tag.</summary>
    public const string ChildHex =
        "9fceb69949ffce0001618402030c05ad7461736b2d3766336332613965c20607c2c2c2080d01b64141414141414141414141"
        + "4141414141414141414141";

    public static readonly TimeSpan Retention = TimeSpan.FromMinutes(15);

    /// <summary>Delegated, an explicit client, a task ending in a UUID, a canonical <c>jkt</c> and a textual <c>x5t#S256</c>.</summary>
    public static GrantRecord Parent { get; } = new()
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
    };

    /// <summary>Narrowed from the parent: undelegated, a plain task, a textual <c>jkt</c> and a canonical <c>x5t#S256</c>, 90.5 s.</summary>
    public static GrantRecord Child { get; } = Parent with
    {
        Id = GrantId.RoutingTag("acme") + ".BBBBBBBBBBBBBBBBBBBBBB",
        ClientId = "spiffe://acme.example/ns/agents/sa/researcher",
        ActorChain = [],
        Capabilities = ["files.read"],
        TaskId = "task-7f3c2a9e",
        ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(Now + 90_500),
        Binding = new GrantBinding("jkt-thumbprint", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        ParentGrantId = GrantId.RoutingTag("acme") + ".AAAAAAAAAAAAAAAAAAAAAA",
    };

    /// <summary>A grant shared by <c>acme</c> with <c>payments</c>, recorded alone (status index 0): position 17 is the consumer.</summary>
    public const string SharedHex = "dc0011ceb6a1103bd1fda801020304a67461736b2d31c20506c2c2c2c2c2c20700";

    /// <summary>The shared grant of <see cref="SharedHex"/>.</summary>
    public static GrantRecord Shared { get; } = Parent with
    {
        Id = GrantId.RoutingTag("acme") + ".CCCCCCCCCCCCCCCCCCCCCC",
        Subject = "spiffe://payments.example/agents/reconciler",
        ClientId = "spiffe://payments.example/agents/reconciler",
        ActorChain = [],
        Capabilities = ["files.read"],
        TaskId = "task-1",
        Binding = null,
        ConsumerTenant = "payments",
    };

    /// <summary>The parent as read back: with the status index the record script gave it.</summary>
    public static GrantRecord RecordedParent { get; } = Parent with { StatusIndex = 0 };

    /// <summary>The child as read back: with the status index the record script gave it.</summary>
    public static GrantRecord RecordedChild { get; } = Child with { StatusIndex = 1 };

    /// <summary>The shared grant as read back: with the status index the record script gave it.</summary>
    public static GrantRecord RecordedShared { get; } = Shared with { StatusIndex = 0 };

    /// <summary>A clock standing at <see cref="Now"/>.</summary>
    public static FakeTimeProvider Clock() => new(DateTimeOffset.FromUnixTimeMilliseconds(Now));
}
