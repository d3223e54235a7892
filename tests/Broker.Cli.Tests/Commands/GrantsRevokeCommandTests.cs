using System.Text.Json;
using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests.Commands;

public sealed class GrantsRevokeCommandTests
{
    [Fact]
    public async Task GrantsRevoke_OneGrant_RevokedThenAlreadyRevoked()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        string[] args = ["grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "agent compromised"];

        // Act
        var first = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, args));
        var second = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, args));

        // Assert
        Assert.Equal(0, first.ExitCode);
        Assert.Equal("Revoked grant tujWc8y-DuYgN79FvtyU1w at 2026-11-24T10:04:00Z.", first.Out.Trim());
        Assert.Equal(0, second.ExitCode);
        Assert.Equal("Grant tujWc8y-DuYgN79FvtyU1w was already revoked at 2026-11-24T10:04:00Z.", second.Out.Trim());
        Assert.Equal("agent compromised", (string?)stub.FindGrant("tujWc8y-DuYgN79FvtyU1w")!["revocation"]!["reason"]);
    }

    [Fact]
    public async Task GrantsRevoke_Json_PrintsTheApiAnswer()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "r"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        Assert.Equal("revoked", document.RootElement.GetProperty("result").GetString());
        Assert.Equal("tujWc8y-DuYgN79FvtyU1w", document.RootElement.GetProperty("grant_id").GetString());
    }

    [Fact]
    public async Task GrantsRevoke_UnknownGrant_Exit1()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "revoke", "nope", "--reason", "r"));

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("404 not_found", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantsRevoke_BulkByTask_RevokesEveryMatchingGrant()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "revoke", "--tenant", "acme", "--task", "task-42", "--reason", "task cancelled"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Revoked 2 grants of task task-42 in tenant acme.", run.Out.Trim());
        Assert.Equal("revoked", (string?)stub.FindGrant("Qm9vdHN0cmFwR3JhbnQwMg")!["status"]);
        Assert.Equal("active", (string?)stub.FindGrant("V3JpdGVyR3JhbnQwMDAwMw")!["status"]);
        Assert.Equal(["POST /admin/v1/grants/revoke"], stub.Requests);
    }

    [Fact]
    public async Task GrantsRevoke_BulkBySubjectJson_PrintsTheApiAnswer()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "grants", "revoke", "--tenant", "acme", "--subject", "spiffe://acme.example/agents/writer", "--reason", "r"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        Assert.Equal(1, document.RootElement.GetProperty("revoked").GetInt32());
    }

    [Theory]
    [InlineData("grants", "revoke", "tujWc8y-DuYgN79FvtyU1w")]
    [InlineData("grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "")]
    [InlineData("grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "line\nbreak")]
    [InlineData("grants", "revoke", "--reason", "r")]
    [InlineData("grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--tenant", "acme", "--reason", "r")]
    [InlineData("grants", "revoke", "--tenant", "acme", "--reason", "r")]
    [InlineData("grants", "revoke", "--tenant", "acme", "--subject", "s", "--task", "t", "--reason", "r")]
    [InlineData("grants", "revoke", "--task", "t", "--reason", "r")]
    [InlineData("grants", "revoke", "--tenant", "acme", "--task", "t")]
    public async Task GrantsRevoke_BadArguments_UsageErrorAndNothingSent(params string[] args)
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, args));

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("brokerctl: ", run.Error, StringComparison.Ordinal);
        Assert.Empty(stub.Requests);
    }

    [Fact]
    public async Task GrantsRevoke_ReasonTooLong_UsageError()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", "https://broker.example.org", "--token", "t", "grants", "revoke", "id", "--reason", new string('x', 257));

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--reason must be 1-256 printable characters", run.Error, StringComparison.Ordinal);
    }
}
