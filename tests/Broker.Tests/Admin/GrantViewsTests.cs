using System.Text.Json;
using Broker.Admin;
using Broker.Contracts.Admin;
using Broker.Grants;

namespace Broker.Tests.Admin;

/// <summary>
/// The admin API's grant body, which the broker writes and brokerctl reads with the same model and serialiser
/// (<see cref="AdminApiJsonContext"/>): the exact bytes of a grant that uses every field, and the same bytes back after
/// a read by brokerctl's side.
/// </summary>
public sealed class GrantViewsTests
{
    private static readonly DateTimeOffset IssuedAt = new(2026, 11, 24, 10, 3, 24, TimeSpan.Zero);

    private static GrantRecord Full => new()
    {
        Id = "acme.AAAAAAAAAAAAAAAAAAAAAA",
        Tenant = "acme",
        Subject = "spiffe://payments.example/agents/reconciler",
        ClientId = "spiffe://payments.example/tools/client",
        ActorChain = ["spiffe://payments.example/orchestrator"],
        Capabilities = ["invoices.read", "invoices.write"],
        Audience = "https://mcp.acme.example/invoices",
        TaskId = "task-42",
        Purpose = "résumé <billing> & \"quotes\"",
        IssuedAt = IssuedAt,
        ExpiresAt = IssuedAt.AddMinutes(5),
        Binding = new GrantBinding("jkt-thumbprint", "x5t-thumbprint"),
        PolicyVersion = "sha256:0123456789abcdef01234567",
        ParentGrantId = "acme.BBBBBBBBBBBBBBBBBBBBBB",
        ConsumerTenant = "payments",
        Status = GrantStatus.Revoked,
        Revocation = new GrantRevocation(IssuedAt.AddMinutes(1), "spiffe://acme.example/admins/alice", "compromised agent"),
    };

    // The body as the admin API has always written it: snake_case, nulls left out, cnf's member names as RFC 7800 spells them.
    private const string FullJson =
        "{\"grant_id\":\"acme.AAAAAAAAAAAAAAAAAAAAAA\",\"tenant\":\"acme\",\"subject\":\"spiffe://payments.example/agents/reconciler\","
        + "\"client_id\":\"spiffe://payments.example/tools/client\",\"actor_chain\":[\"spiffe://payments.example/orchestrator\"],"
        + "\"capabilities\":[\"invoices.read\",\"invoices.write\"],\"audience\":\"https://mcp.acme.example/invoices\",\"task_id\":\"task-42\","
        + "\"purpose\":\"r\\u00E9sum\\u00E9 \\u003Cbilling\\u003E \\u0026 \\u0022quotes\\u0022\",\"issued_at\":\"2026-11-24T10:03:24+00:00\","
        + "\"expires_at\":\"2026-11-24T10:08:24+00:00\",\"policy_version\":\"sha256:0123456789abcdef01234567\","
        + "\"parent_grant_id\":\"acme.BBBBBBBBBBBBBBBBBBBBBB\",\"binding\":{\"jkt\":\"jkt-thumbprint\",\"x5t#S256\":\"x5t-thumbprint\"},"
        + "\"status\":\"revoked\",\"revocation\":{\"revoked_at\":\"2026-11-24T10:04:24+00:00\",\"revoked_by\":\"spiffe://acme.example/admins/alice\","
        + "\"reason\":\"compromised agent\"},\"consumer_tenant\":\"payments\"}";

    [Fact]
    public void From_FullGrant_WritesTheWireShape()
    {
        // Act
        var json = JsonSerializer.Serialize(GrantViews.From(Full, IssuedAt), AdminApiJsonContext.Default.GrantView);

        // Assert
        Assert.Equal(FullJson, json);
    }

    [Fact]
    public void GrantView_ReadAsBrokerctlReadsIt_WritesTheSameBytesBack()
    {
        // Arrange
        var written = JsonSerializer.Serialize(GrantViews.From(Full, IssuedAt), AdminApiJsonContext.Default.GrantView);

        // Act
        var read = JsonSerializer.Deserialize(written, AdminApiJsonContext.Default.GrantView)!;

        // Assert
        Assert.Equal(written, JsonSerializer.Serialize(read, AdminApiJsonContext.Default.GrantView));
        Assert.Equal(new GrantBindingView("jkt-thumbprint", "x5t-thumbprint"), read.Binding);
        Assert.Equal(new RevocationView(IssuedAt.AddMinutes(1), "spiffe://acme.example/admins/alice", "compromised agent"), read.Revocation);
        Assert.Equal(["invoices.read", "invoices.write"], read.Capabilities);
        Assert.Equal("payments", read.ConsumerTenant);
    }

    [Fact]
    public void From_UnboundActiveGrant_LeavesOutBindingAndRevocation_ButNotTheNextCursorOfAPage()
    {
        // Arrange
        var grant = Full with { Binding = null, Status = GrantStatus.Active, Revocation = null, ParentGrantId = null, ConsumerTenant = null };

        // Act
        var view = GrantViews.From(grant, IssuedAt);
        var json = JsonSerializer.Serialize(view, AdminApiJsonContext.Default.GrantView);
        var page = JsonSerializer.Serialize(new GrantListView([], null), AdminApiJsonContext.Default.GrantListView);

        // Assert
        Assert.Equal("active", view.Status);
        Assert.DoesNotContain("binding", json, StringComparison.Ordinal);
        Assert.DoesNotContain("revocation", json, StringComparison.Ordinal);
        Assert.DoesNotContain("parent_grant_id", json, StringComparison.Ordinal);
        Assert.Equal("{\"grants\":[],\"next_cursor\":null}", page);
    }

    [Theory]
    [InlineData(-1, "active")]
    [InlineData(0, "expired")]
    [InlineData(1, "expired")]
    public void From_ActiveGrant_IsExpiredFromItsExpiry(int secondsAfterExpiry, string status)
    {
        // Arrange
        var grant = Full with { Status = GrantStatus.Active, Revocation = null };

        // Act
        var view = GrantViews.From(grant, grant.ExpiresAt.AddSeconds(secondsAfterExpiry));

        // Assert
        Assert.Equal(status, view.Status);
    }
}
