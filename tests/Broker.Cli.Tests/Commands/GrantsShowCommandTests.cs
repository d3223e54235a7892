using System.Text.Json;
using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests.Commands;

public sealed class GrantsShowCommandTests
{
    [Fact]
    public async Task GrantsShow_KnownGrant_PrintsEveryFieldInFull()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "TG9uZ1N1YmplY3RHcmFudA"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
        var fields = run.OutLines.ToDictionary(l => l[..l.IndexOf(' ', StringComparison.Ordinal)], l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..].Trim());
        Assert.Equal(AdminApiStub.LongSubject, fields["subject"]);
        Assert.Equal("2026-11-24T10:03:24Z", fields["issued_at"]);
        Assert.Equal("2026-11-24T10:05:00Z", fields["expires_at"]);
        Assert.Equal("active", fields["status"]);
        Assert.Equal("-", fields["task_id"]);
        Assert.False(fields.ContainsKey("revoked_at"));

        // Values start in one column.
        Assert.Single(run.OutLines.Select(l => l.Length - l[l.IndexOf(' ', StringComparison.Ordinal)..].TrimStart().Length).Distinct());
    }

    [Fact]
    public async Task GrantsShow_RevokedGrant_PrintsRevocation()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "agent compromised"));

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "tujWc8y-DuYgN79FvtyU1w"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(run.OutLines, l => l.StartsWith("status", StringComparison.Ordinal) && l.EndsWith("revoked", StringComparison.Ordinal));
        Assert.Contains(run.OutLines, l => l.StartsWith("revoked_at", StringComparison.Ordinal) && l.EndsWith("2026-11-24T10:04:00Z", StringComparison.Ordinal));
        Assert.Contains(run.OutLines, l => l.StartsWith("reason", StringComparison.Ordinal) && l.EndsWith("agent compromised", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GrantsShow_Json_PrintsTheApiAnswer()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "tujWc8y-DuYgN79FvtyU1w", "--json"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        Assert.Equal("tujWc8y-DuYgN79FvtyU1w", document.RootElement.GetProperty("grant_id").GetString());
        Assert.Equal("2026-11-24T10:08:24+00:00", document.RootElement.GetProperty("expires_at").GetString());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("revocation").ValueKind);
    }

    [Fact]
    public async Task GrantsShow_UnknownGrant_Exit1WithDescription()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "nope"));

        // Assert
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("brokerctl: the broker refused the request: 404 not_found: the grant is unknown or has left the store", run.Error.Trim());
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task GrantsShow_OtherTenantsGrant_Exit3()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "R2xvYmV4R3JhbnQwMDAwNQ"));

        // Assert
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("403 insufficient_scope", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantsShow_ControlCharactersInValues_NotPassedToTheTerminal()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "revoke", "tujWc8y-DuYgN79FvtyU1w", "--reason", "ok"));
        stub.FindGrant("tujWc8y-DuYgN79FvtyU1w")!["revocation"]!["reason"] = "evil\u001b[2Jreason";

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "show", "tujWc8y-DuYgN79FvtyU1w"));

        // Assert
        Assert.DoesNotContain('\u001b', run.Out);
        Assert.Contains("evil?[2Jreason", run.Out, StringComparison.Ordinal);
    }
}
