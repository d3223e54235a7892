using System.Text.RegularExpressions;
using Broker.Testing;
using Broker.Validation.Tests.Infrastructure;

namespace Broker.Validation.Tests;

/// <summary>
/// samples/Agent as a process against the quickstart (<c>Broker.dll --dev</c> with samples/dev/policy/dev.yaml and
/// samples/McpServer): what it prints, how it exits, and what the broker recorded. In dev.yaml every agent reads
/// files; only <c>agents/writer</c> writes, and only for the purpose <c>code-change</c>.
/// </summary>
public sealed partial class SampleAgentTests(Quickstart quickstart) : IClassFixture<Quickstart>
{
    private const string Resource = "https://mcp.dev.localhost/mcp";
    private const string ReadOk = "[call] read_file: succeeded: Capabilities are granted per task.";
    private const string WriteChallenged = "[call] write_file: refused: 403 insufficient_scope, the tool needs scope=\"files.write\"";

    [Fact]
    public async Task DemoAgent_ReadsThenStepUpIsRefused_GoesOnAndEndsItsTask()
    {
        // Act
        var (exitCode, output, error) = await quickstart.RunAgentAsync("--task", "agent-demo", "--purpose", "triage");

        // Assert: the narrative, step by step.
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}\n{error}");
        var grant = Assert.Single(Grants(output));
        Assert.Contains("[identity] spiffe://dev.localhost/agents/demo: a JWT-SVID from the --dev broker's dev identity source", output, StringComparison.Ordinal);
        Assert.Contains($"[exchange] files.read for {Resource}, task agent-demo (triage): granted as grant {grant}, for ", output, StringComparison.Ordinal);
        Assert.Contains("[tools] offered to this grant: list_files, read_file", output, StringComparison.Ordinal);
        Assert.Contains(ReadOk, output, StringComparison.Ordinal);
        Assert.Contains(WriteChallenged, output, StringComparison.Ordinal);
        Assert.Contains("[step-up] asking the broker for files.read files.write in task agent-demo", output, StringComparison.Ordinal);
        Assert.Contains("[step-up] refused by the broker: invalid_scope (HTTP 400): One or more requested capabilities are not allowed for this workload, task and purpose.", output, StringComparison.Ordinal);
        Assert.Contains("[step-up] going on without write_file", output, StringComparison.Ordinal);
        Assert.Contains($"[end-task] task agent-demo ended: the broker revoked its grants ({grant})", output, StringComparison.Ordinal);
        Assert.DoesNotContain("write_file (retry)", output, StringComparison.Ordinal);

        // The broker: the one grant is revoked by its holder. The MCP server: one read, one refused write.
        var record = await quickstart.GrantAsync(grant);
        Assert.Equal("revoked", record.GetProperty("status").GetString());
        Assert.Equal("spiffe://dev.localhost/agents/demo", record.GetProperty("revocation").GetProperty("revoked_by").GetString());
        Assert.Equal(["files.read"], record.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains($"mcp-audit: tool read_file succeeded; grant {grant}", quickstart.McpServerOutput, StringComparison.Ordinal);
        Assert.Contains($"mcp-audit: tool write_file insufficient_scope; grant {grant}", quickstart.McpServerOutput, StringComparison.Ordinal);
        AssertNoToken(output + error);
    }

    [Fact]
    public async Task Writer_StepsUpInTheSameTaskAndWrites_EndsTaskRevokingBothGrants()
    {
        // Act
        var (exitCode, output, error) = await quickstart.RunAgentAsync("--spiffe-id", "spiffe://dev.localhost/agents/writer", "--task", "agent-writer", "--purpose", "code-change");

        // Assert
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}\n{error}");
        var grants = Grants(output);
        Assert.Equal(2, grants.Count);
        Assert.Contains(ReadOk, output, StringComparison.Ordinal);
        Assert.Contains(WriteChallenged, output, StringComparison.Ordinal);
        Assert.Contains($"[step-up] files.read files.write for {Resource}, task agent-writer (code-change): granted as grant {grants[1]}, for ", output, StringComparison.Ordinal);
        Assert.Contains("[tools] offered to this grant: list_files, read_file, write_file", output, StringComparison.Ordinal);
        Assert.Contains("[call] write_file (retry): succeeded: Wrote ", output, StringComparison.Ordinal);
        Assert.Contains($"[end-task] task agent-writer ended: the broker revoked its grants ({grants[0]}, {grants[1]})", output, StringComparison.Ordinal);

        // The step-up grant is a new one of the same task with both capabilities; both grants are revoked now.
        var first = await quickstart.GrantAsync(grants[0]);
        var second = await quickstart.GrantAsync(grants[1]);
        Assert.Equal(["files.read", "files.write"], second.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("agent-writer", second.GetProperty("task_id").GetString());
        Assert.Equal("revoked", first.GetProperty("status").GetString());
        Assert.Equal("revoked", second.GetProperty("status").GetString());
        Assert.Contains($"mcp-audit: tool write_file succeeded; grant {grants[1]}", quickstart.McpServerOutput, StringComparison.Ordinal);
        AssertNoToken(output + error);
    }

    [Fact]
    public async Task WatchRevocation_AdminRevokesTheGrant_AgentIsCutOff()
    {
        // Arrange: the agent reads once, then keeps calling with the same grant.
        await using var agent = quickstart.StartAgent(null, "--task", "agent-watch", "--watch-revocation");
        var grant = (await agent.WaitForLineAsync(l => l.StartsWith("grant: ", StringComparison.Ordinal)))["grant: ".Length..];
        await agent.WaitForLineAsync(l => l.StartsWith("[watch] calling read_file with grant " + grant, StringComparison.Ordinal));

        // Act: an admin revokes it at the broker; the MCP server hears of it over the revocation feed.
        await quickstart.RevokeAsync(grant, "watch test");
        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(60));

        // Assert
        var output = agent.StandardOutput;
        Assert.True(exitCode == 0, $"exit {exitCode}: {agent.Output}");
        Assert.Contains(ReadOk, output, StringComparison.Ordinal);
        Assert.Matches(CutOff(), output);
        Assert.DoesNotContain("write_file", output, StringComparison.Ordinal);
        var record = await quickstart.GrantAsync(grant);
        Assert.Equal("spiffe://dev.localhost/admin", record.GetProperty("revocation").GetProperty("revoked_by").GetString());
        AssertNoToken(agent.Output);
    }

    [Fact]
    public async Task WatchRevocation_RevokedAsSoonAsPrinted_AgentIsCutOffAllTheSame()
    {
        // Arrange
        await using var agent = quickstart.StartAgent(null, "--task", "agent-watch-early", "--watch-revocation");
        var grant = (await agent.WaitForLineAsync(l => l.StartsWith("grant: ", StringComparison.Ordinal)))["grant: ".Length..];

        // Act: revoked at once, so maybe before the first call. Then Broker.Client renews that call's token (and the
        // agent says so), but the watched grant is the one printed first, and that one is refused.
        await quickstart.RevokeAsync(grant, "revoked early");
        var exitCode = await agent.WaitForExitAsync(TimeSpan.FromSeconds(60));

        // Assert
        Assert.True(exitCode == 0, $"exit {exitCode}: {agent.Output}");
        Assert.Matches(CutOff(), agent.StandardOutput);
        Assert.Contains(ReadOk, agent.StandardOutput, StringComparison.Ordinal);
        foreach (var id in Grants(agent.StandardOutput))
        {
            Assert.Equal("revoked", (await quickstart.GrantAsync(id)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task WatchRevocation_NobodyRevokes_ExitsThreeAndEndsTheTask()
    {
        // Act
        var (exitCode, output, error) = await quickstart.RunAgentAsync("--task", "agent-watch-idle", "--watch-revocation", "--watch-timeout", "1");

        // Assert
        Assert.True(exitCode == 3, $"exit {exitCode}: {output}\n{error}");
        var grant = Assert.Single(Grants(output));
        Assert.Contains($"[watch] grant {grant} was still honoured after 1 s", output, StringComparison.Ordinal);
        Assert.Equal("revoked", (await quickstart.GrantAsync(grant)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnreachableBroker_SaysSoAndExitsOne()
    {
        // Arrange: a port nothing listens on.
        var broker = $"http://127.0.0.1:{FreePorts.Next()}";

        // Act
        var (exitCode, output, error) = await quickstart.RunAgentAsync("--broker", broker);

        // Assert
        Assert.True(exitCode == 1, $"exit {exitCode}: {output}\n{error}");
        Assert.Contains($"[failed] identity: cannot reach the broker at {broker}/: Connection refused", output, StringComparison.Ordinal);
        Assert.Empty(Grants(output));
        Assert.DoesNotContain("[end-task]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokerWithoutDevIdentitySource_SaysHowToGetAnIdentity()
    {
        // Act: the MCP server is no broker; it has no /dev/svid.
        var notABroker = quickstart.McpEndpoint.GetLeftPart(UriPartial.Authority);
        var (exitCode, output, _) = await quickstart.RunAgentAsync("--broker", notABroker);

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains($"[failed] identity: the broker at {notABroker}/ has no dev identity source: start it with --dev, or give the agent a SPIFFE Workload API (SPIFFE_ENDPOINT_SOCKET).", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevIdentityOutsideTheDevTrustDomain_RefusedByTheDevSource_ExitsOne()
    {
        // Act
        var (exitCode, output, _) = await quickstart.RunAgentAsync("--spiffe-id", "spiffe://payments.example.org/agents/demo");

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains("[failed] identity: the dev identity source answered HTTP 400: spiffe_id must be a SPIFFE ID in spiffe://dev.localhost", output, StringComparison.Ordinal);
        Assert.Empty(Grants(output));
    }

    [Fact]
    public async Task UnknownCapability_BrokerRefusesTheFirstExchange_ExitsOne()
    {
        // Act: dev.yaml defines files.read and files.write only.
        var (exitCode, output, _) = await quickstart.RunAgentAsync("--task", "agent-unknown-capability", "--scope", "files.delete");

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains("[failed] exchange: the broker refused the exchange: invalid_scope (HTTP 400): One or more requested capabilities are not allowed for this workload, task and purpose.", output, StringComparison.Ordinal);
        Assert.Empty(Grants(output));
        Assert.DoesNotContain("[connect]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownTool_ServerSaysSo_ExitsOneAndStillEndsTheTask()
    {
        // Act
        var (exitCode, output, _) = await quickstart.RunAgentAsync("--task", "agent-unknown-tool", "--tool", "delete_everything");

        // Assert: the SDK answers an unknown tool with a JSON-RPC error; the grant is revoked all the same.
        Assert.Equal(1, exitCode);
        Assert.Contains("[call] delete_everything: failed: JSON-RPC error -32602: ", output, StringComparison.Ordinal);
        Assert.Contains("Unknown tool: 'delete_everything'", output, StringComparison.Ordinal);
        var grant = Assert.Single(Grants(output));
        Assert.Contains($"[end-task] task agent-unknown-tool ended: the broker revoked its grants ({grant})", output, StringComparison.Ordinal);
        Assert.Equal("revoked", (await quickstart.GrantAsync(grant)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnreachableMcpServer_ExitsOneAndStillEndsTheTask()
    {
        // Arrange
        var mcp = $"http://127.0.0.1:{FreePorts.Next()}/mcp";

        // Act
        var (exitCode, output, _) = await quickstart.RunAgentAsync("--task", "agent-no-mcp", "--mcp", mcp);

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains($"[failed] connect: cannot connect to {mcp}: unreachable: Connection refused", output, StringComparison.Ordinal);
        var grant = Assert.Single(Grants(output));
        Assert.Equal("revoked", (await quickstart.GrantAsync(grant)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task WorkloadApiSocketWithoutAgent_SaysSoAndExitsOne()
    {
        // Arrange: SPIFFE_ENDPOINT_SOCKET chooses the Workload API; nothing listens on it.
        var socket = "unix://" + Path.Combine(Path.GetTempPath(), $"no-agent-{Guid.NewGuid():N}.sock");

        // Act
        var (exitCode, output, _) = await quickstart.RunAgentAsync(new Dictionary<string, string?> { ["SPIFFE_ENDPOINT_SOCKET"] = socket });

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains("[failed] identity: no JWT-SVID from the Workload API: workloadapi: FetchJWTSVID failed: Unavailable", output, StringComparison.Ordinal);
        Assert.Empty(Grants(output));
    }

    [Theory]
    [InlineData("--broker", "not-a-url", "agent: --broker 'not-a-url' is not an absolute http(s) URL")]
    [InlineData("--broker", "ftp://127.0.0.1/", "agent: --broker 'ftp://127.0.0.1/' is not an absolute http(s) URL")]
    [InlineData("--mcp", "/mcp", "agent: --mcp '/mcp' is not an absolute http(s) URL")]
    [InlineData("--task", "two words", "agent: 'two words' is not a valid TaskId: 1-128 characters of A-Z a-z 0-9 . _ : / -.")]
    [InlineData("--purpose", "", "agent: '' is not a valid Purpose")]
    [InlineData("--scope", "files.read \"quoted\"", "agent: '\"quoted\"' is not a capability name")]
    [InlineData("--resource", "https://mcp.dev.localhost/mcp#frag", "agent: 'https://mcp.dev.localhost/mcp#frag' is not a resource URI")]
    [InlineData("--spiffe-id", "https://dev.localhost/agents/demo", "agent: --spiffe-id 'https://dev.localhost/agents/demo' is not a SPIFFE ID")]
    [InlineData("--identity", "kerberos", "agent: Argument 'kerberos' not recognized.")]
    [InlineData("--watch-timeout", "0", "agent: --watch-timeout must be 1-3600 seconds.")]
    [InlineData("--tool", "", "agent: --tool and --step-up-tool are tool names of 1-128 characters.")]
    [InlineData("--no-such-option", "x", "agent: Unrecognized command or argument '--no-such-option'.")]
    public async Task BadCommandLine_UsageErrorBeforeAnythingIsSent(string option, string value, string message)
    {
        // Act
        var (exitCode, output, error) = await quickstart.RunAgentAsync(option, value);

        // Assert
        Assert.Equal(2, exitCode);
        Assert.StartsWith(message, error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }

    /// <summary>The <c>grant: ID</c> lines, in order.</summary>
    private static List<string> Grants(string output) =>
        [.. output.Split('\n').Where(l => l.StartsWith("grant: ", StringComparison.Ordinal)).Select(l => l["grant: ".Length..].Trim())];

    /// <summary>No JWT (a token or an SVID) anywhere: a JWT's JSON header always encodes to "eyJ".</summary>
    private static void AssertNoToken(string text) => Assert.DoesNotMatch(Jwt(), text);

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"\[watch\] cut off after \d+ ms \(\d+ calls\): 401 invalid_token: The token's grant has been revoked\.")]
    private static partial Regex CutOff();
}
