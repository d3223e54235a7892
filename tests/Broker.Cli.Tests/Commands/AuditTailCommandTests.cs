using System.Text.Json;
using Broker.Cli.Tests.Infrastructure;

namespace Broker.Cli.Tests.Commands;

public sealed class AuditTailCommandTests
{
    [Fact]
    public async Task AuditTail_Tenant_PrintsTableOldestFirst()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/reader", "tujWc8y-DuYgN79FvtyU1w");
        stub.AddEvent("token.exchange", "2026-11-24T11:03:30+01:00", "acme", "spiffe://acme.example/agents/writer", outcome: "Denied", error: "invalid_scope");
        stub.AddEvent("token.exchange", "2026-11-24T10:03:40+00:00", "globex", "spiffe://globex.example/agents/a");

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "audit", "tail", "--tenant", "acme"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        var lines = run.OutLines;
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("TIME", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("2026-11-24T10:03:24Z", lines[1], StringComparison.Ordinal);
        Assert.Contains("tujWc8y-DuYgN79FvtyU1w", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("2026-11-24T10:03:30Z", lines[2], StringComparison.Ordinal);
        Assert.Contains("Denied", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("invalid_scope", lines[2], StringComparison.Ordinal);
        Assert.Equal(lines[0].IndexOf("OUTCOME", StringComparison.Ordinal), lines[2].IndexOf("Denied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuditTail_Json_PrintsTheApiAnswer()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/reader");
        stub.AddEvent("grant.revoked", "2026-11-24T10:04:00+00:00", "acme", grantId: "tujWc8y-DuYgN79FvtyU1w");

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.GlobalToken, "--json", "audit", "tail", "--limit", "1"));

        // Assert
        Assert.Equal(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Out);
        var events = document.RootElement.GetProperty("events");
        Assert.Equal(1, events.GetArrayLength());
        Assert.Equal("grant.revoked", events[0].GetProperty("type").GetString());
        Assert.Equal(["GET /admin/v1/audit?limit=1"], stub.Requests);
    }

    [Fact]
    public async Task AuditTail_AllTenantsAsTenantAdmin_Exit3()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();

        // Act
        var run = await Brokerctl.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "audit", "tail"));

        // Assert
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("insufficient_scope", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditTail_Follow_PrintsOnlyNewEventsUntilCancelled()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/first");
        var stdout = new StringWriter();
        var output = TextWriter.Synchronized(stdout);
        using var stderr = new StringWriter();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var environment = new CliEnvironment(output, stderr) { GetVariable = _ => null, FollowInterval = TimeSpan.FromMilliseconds(50) };
        string Printed()
        {
            lock (output)
            {
                return stdout.ToString();
            }
        }

        // Act
        var running = Program.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "audit", "tail", "--tenant", "acme", "--follow"), environment, cancellation.Token);
        await WaitUntilAsync(() => Printed().Contains("agents/first", StringComparison.Ordinal));
        stub.AddEvents(
            AdminApiStub.Event("token.exchange", "2026-11-24T10:03:25+00:00", "acme", "spiffe://acme.example/agents/second"),
            AdminApiStub.Event("token.exchange", "2026-11-24T10:03:26+00:00", "acme", "spiffe://acme.example/agents/third"));
        await WaitUntilAsync(() => Printed().Contains("agents/third", StringComparison.Ordinal));
        var requestsBefore = stub.Requests.Count;
        await WaitUntilAsync(() => stub.Requests.Count >= requestsBefore + 2);
        await cancellation.CancelAsync();
        var exitCode = await running;

        // Assert
        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr.ToString());
        var lines = Printed().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("TIME", lines[0], StringComparison.Ordinal);
        Assert.Contains("agents/first", lines[1], StringComparison.Ordinal);
        Assert.Contains("agents/second", lines[2], StringComparison.Ordinal);
        Assert.Contains("agents/third", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditTail_FollowJson_PrintsOneEventPerLine()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/first");
        stub.AddEvent("token.exchange", "2026-11-24T10:03:25+00:00", "acme", "spiffe://acme.example/agents/second");
        var stdout = new StringWriter();
        var output = TextWriter.Synchronized(stdout);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var environment = new CliEnvironment(output, TextWriter.Null) { GetVariable = _ => null, FollowInterval = TimeSpan.FromMilliseconds(50) };

        // Act
        var running = Program.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "--json", "audit", "tail", "--tenant", "acme", "-f"), environment, cancellation.Token);
        await WaitUntilAsync(() => stub.Requests.Count >= 3);
        await cancellation.CancelAsync();
        Assert.Equal(0, await running);

        // Assert
        string[] lines;
        lock (output)
        {
            lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        Assert.Equal(2, lines.Length);
        Assert.EndsWith("first", JsonDocument.Parse(lines[0]).RootElement.GetProperty("subject").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("second", JsonDocument.Parse(lines[1]).RootElement.GetProperty("subject").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditTail_FollowThroughOutage_ReportedOnceAndKeepsPolling()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/first");
        var (environment, printed, errors) = FollowEnvironment();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Act
        var running = Program.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "audit", "tail", "--tenant", "acme", "--follow"), environment, cancellation.Token);
        await WaitUntilAsync(() => printed().Contains("agents/first", StringComparison.Ordinal));
        stub.Unavailable = true;
        var requestsBefore = stub.Requests.Count;
        await WaitUntilAsync(() => stub.Requests.Count >= requestsBefore + 3);
        stub.AddEvent("token.exchange", "2026-11-24T10:03:25+00:00", "acme", "spiffe://acme.example/agents/after-outage");
        stub.Unavailable = false;
        await WaitUntilAsync(() => printed().Contains("agents/after-outage", StringComparison.Ordinal));
        await cancellation.CancelAsync();

        // Assert
        Assert.Equal(0, await running);
        var reported = Assert.Single(errors().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("brokerctl: the broker is unavailable: 503 temporarily_unavailable: the grant store is unreachable (retry after 5 s); still polling", reported);
    }

    [Fact]
    public async Task AuditTail_FollowMoreNewEventsThanLimit_WarnsOfSkippedEvents()
    {
        // Arrange
        await using var stub = await AdminApiStub.StartAsync();
        stub.AddEvent("token.exchange", "2026-11-24T10:03:24+00:00", "acme", "spiffe://acme.example/agents/first");
        var (environment, printed, errors) = FollowEnvironment();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Act
        var running = Program.RunAsync(Brokerctl.Against(stub, AdminApiStub.AcmeToken, "audit", "tail", "--tenant", "acme", "--limit", "2", "--follow"), environment, cancellation.Token);
        await WaitUntilAsync(() => printed().Contains("agents/first", StringComparison.Ordinal));
        stub.AddEvents([.. Enumerable.Range(0, 3).Select(i =>
            AdminApiStub.Event("token.exchange", $"2026-11-24T10:04:0{i}+00:00", "acme", $"spiffe://acme.example/agents/burst-{i}"))]);

        await WaitUntilAsync(() => printed().Contains("agents/burst-2", StringComparison.Ordinal));
        await cancellation.CancelAsync();

        // Assert
        Assert.Equal(0, await running);
        Assert.Contains("more than 2 events since the last poll", errors(), StringComparison.Ordinal);
        Assert.DoesNotContain("burst-0", printed(), StringComparison.Ordinal);
    }

    private static (CliEnvironment Environment, Func<string> Printed, Func<string> Errors) FollowEnvironment()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var output = TextWriter.Synchronized(stdout);
        var error = TextWriter.Synchronized(stderr);
        var environment = new CliEnvironment(output, error) { GetVariable = _ => null, FollowInterval = TimeSpan.FromMilliseconds(50) };
        string Read(TextWriter writer, StringWriter inner)
        {
            lock (writer)
            {
                return inner.ToString();
            }
        }

        return (environment, () => Read(output, stdout), () => Read(error, stderr));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for brokerctl");
            await Task.Delay(20);
        }
    }
}
