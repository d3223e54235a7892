using System.Text.Json;
using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests.Commands;

public sealed class GrantsListCommandTests
{
    [Fact]
    public async Task GrantsList_Tenant_PrintsAlignedTableNewestExpiryFirst()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
        var lines = run.OutLines;
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("GRANT ID", lines[0], StringComparison.Ordinal);
        var subjectColumn = lines[0].IndexOf("SUBJECT", StringComparison.Ordinal);
        var expiresColumn = lines[0].IndexOf("EXPIRES AT", StringComparison.Ordinal);
        Assert.All(lines.Skip(1), line => Assert.StartsWith("spiffe://", line[subjectColumn..], StringComparison.Ordinal));
        Assert.All(lines.Skip(1), line => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", line[expiresColumn..]));

        // The +01:00 expiry is shown in UTC, and sorts first.
        Assert.StartsWith("V3JpdGVyR3JhbnQwMDAwMw", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("2026-11-24T10:10:00Z", lines[1], StringComparison.Ordinal);
        Assert.Contains("invoices.read, invoices.write", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("tujWc8y-DuYgN79FvtyU1w", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantsList_LongValue_TruncatedWithEllipsisInTableOnly()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var table = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme"));
        var json = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "grants", "list", "--tenant", "acme"));

        // Assert
        Assert.DoesNotContain(AdminApiStub.LongSubject, table.Out, StringComparison.Ordinal);
        Assert.Contains(AdminApiStub.LongSubject[..47] + "…", table.Out, StringComparison.Ordinal);
        Assert.Contains(AdminApiStub.LongSubject, json.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("…", json.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantsList_Json_PrintsTheApiAnswer()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "grants", "list", "--tenant", "acme", "--task", "task-42"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        var grants = document.RootElement.GetProperty("grants");
        Assert.Equal(2, grants.GetArrayLength());
        Assert.All(grants.EnumerateArray(), g => Assert.Equal("task-42", g.GetProperty("task_id").GetString()));
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("next_cursor").ValueKind);
        Assert.Equal(["GET /admin/v1/grants?tenant=acme&task_id=task-42"], stub.Requests);
    }

    [Fact]
    public async Task GrantsList_MorePagesWithoutAll_PrintsFirstPageAndSaysSo()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme", "--limit", "2"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(3, run.OutLines.Length);
        Assert.Contains("pass --all", run.Error, StringComparison.Ordinal);
        Assert.Single(stub.Requests);
    }

    [Fact]
    public async Task GrantsList_All_FollowsNextCursorAcrossPages()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme", "--limit", "2", "--all"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Error);
        Assert.Equal(5, run.OutLines.Length);
        Assert.Equal(
            ["GET /admin/v1/grants?tenant=acme&limit=2", "GET /admin/v1/grants?tenant=acme&limit=2&cursor=2"],
            stub.Requests);
    }

    [Fact]
    public async Task GrantsList_AllJson_PrintsOneObjectWithEveryGrant()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "grants", "list", "--tenant", "acme", "--limit", "1", "--all"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Single(run.OutLines);
        using var document = JsonDocument.Parse(run.Out);
        var ids = document.RootElement.GetProperty("grants").EnumerateArray().Select(g => g.GetProperty("grant_id").GetString()).ToList();
        Assert.Equal(4, ids.Count);
        Assert.Equal(4, ids.Distinct().Count());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("next_cursor").ValueKind);
        Assert.Equal(4, stub.Requests.Count);
    }

    [Fact]
    public async Task GrantsList_NoMatch_SaysSo()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "acme", "--subject", "spiffe://acme.example/nobody"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("No unexpired grants.", run.Out.Trim());
    }

    [Theory]
    [InlineData("--subject", "s", "--task", "t")]
    [InlineData("--limit", "0")]
    [InlineData("--limit", "1001")]
    [InlineData("--limit", "many")]
    [InlineData("--tenant", "")]
    public async Task GrantsList_BadArguments_UsageErrorAndNothingSent(params string[] extra)
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        string[] args = extra[0] == "--tenant" ? ["grants", "list", .. extra] : ["grants", "list", "--tenant", "acme", .. extra];

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, args));

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("brokerctl: ", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Trim().Split('\n'));
        Assert.Empty(stub.Requests);
    }

    [Fact]
    public async Task GrantsList_MissingTenant_UsageError()
    {
        // Act
        var run = await Brokerctl.RunAsync("--broker", "https://broker.example.org", "--token", "t", "grants", "list");

        // Assert
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--tenant", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantsList_OtherTenantsAdmin_Exit3()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "grants", "list", "--tenant", "globex"));

        // Assert
        Assert.Equal(3, run.ExitCode);
        Assert.Equal("brokerctl: not authorised: 403 insufficient_scope: not an admin of tenant 'globex'", run.Error.Trim());
        Assert.Equal("", run.Out);
    }
}
