using System.Text.Json.Nodes;
using Broker.Testing.WorkloadApi;
using Broker.Validation.Tests.Infrastructure;

namespace Broker.Validation.Tests;

/// <summary>
/// samples/Agent with a SPIFFE Workload API (the faithful test server on a real Unix socket) instead of the dev
/// identity source: its JWT-SVIDs, of trust domain <c>agents.test</c>, are what the broker validates (against the
/// trust domain's bundle file) for the exchanges and for ending the task.
/// </summary>
public sealed class SampleAgentWorkloadApiTests(SampleAgentWorkloadApiTests.WorkloadApiQuickstart quickstart) : IClassFixture<SampleAgentWorkloadApiTests.WorkloadApiQuickstart>
{
    [Fact]
    public async Task WorkloadApiIdentity_ExchangesStepsUpAndEndsTheTask()
    {
        // Act: SPIFFE_ENDPOINT_SOCKET alone chooses the Workload API; the agent takes the workload's default identity.
        var (exitCode, output, error) = await quickstart.RunAgentAsync(
            new Dictionary<string, string?> { ["SPIFFE_ENDPOINT_SOCKET"] = quickstart.Socket },
            "--task", "agent-wapi", "--purpose", "code-change");

        // Assert
        Assert.True(exitCode == 0, $"exit {exitCode}: {output}\n{error}");
        Assert.Contains($"[identity] spiffe://agents.test/agents/writer: a JWT-SVID from the SPIFFE Workload API ({quickstart.Socket})", output, StringComparison.Ordinal);
        Assert.Contains("[call] write_file (retry): succeeded: ", output, StringComparison.Ordinal);
        var grants = output.Split('\n').Where(l => l.StartsWith("grant: ", StringComparison.Ordinal)).Select(l => l["grant: ".Length..].Trim()).ToList();
        Assert.Equal(2, grants.Count);
        foreach (var grant in grants)
        {
            var record = await quickstart.GrantAsync(grant);
            Assert.Equal("spiffe://agents.test/agents/writer", record.GetProperty("subject").GetString());
            Assert.Equal("revoked", record.GetProperty("status").GetString());
        }

        // Every SVID came from the Workload API: identity, two exchanges, and the credential that ended the task.
        Assert.True(quickstart.Agent.State.CallCount("FetchJWTSVID") >= 4, $"FetchJWTSVID calls: {quickstart.Agent.State.CallCount("FetchJWTSVID")}");
    }

    [Fact]
    public async Task WorkloadApi_IdentityTheWorkloadDoesNotHave_SaysSoAndExitsOne()
    {
        // Act
        var (exitCode, output, _) = await quickstart.RunAgentAsync(
            new Dictionary<string, string?> { ["SPIFFE_ENDPOINT_SOCKET"] = quickstart.Socket },
            "--spiffe-id", "spiffe://agents.test/agents/someone-else");

        // Assert
        Assert.Equal(1, exitCode);
        Assert.Contains("[failed] identity: no JWT-SVID from the Workload API: workloadapi: FetchJWTSVID ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("grant: ", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The quickstart with a Workload API: the dev policy plus trust domain <c>agents.test</c> (its JWT authorities in
    /// a bundle file) whose writer may read and write for <c>code-change</c>.
    /// </summary>
    public sealed class WorkloadApiQuickstart : Quickstart
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("agent-wapi-").FullName;

        public FakeWorkloadApiServer Agent { get; private set; } = null!;

        public string Socket => "unix://" + Agent.SocketPath;

        protected override async ValueTask DisposeAsyncCore()
        {
            await base.DisposeAsyncCore();
            await Agent.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }

        protected override async Task<string[]> PrepareAsync()
        {
            var state = new FakeWorkloadApiState("agents.test");
            state.SetIdentities(("spiffe://agents.test/agents/writer", ""));
            Agent = await FakeWorkloadApiServer.StartAsync(state);

            // A SPIFFE bundle marks each JWT authority use: jwt-svid (SPIFFE Trust Domain and Bundle §4).
            var bundle = JsonNode.Parse(state.Jwks())!.AsObject();
            foreach (var key in bundle["keys"]!.AsArray())
            {
                key!["use"] = "jwt-svid";
            }

            var policy = Path.Combine(_directory, "policy");
            Directory.CreateDirectory(policy);
            await File.WriteAllTextAsync(Path.Combine(policy, "agents.test.json"), bundle.ToJsonString());
            await File.WriteAllTextAsync(Path.Combine(policy, "dev.yaml"), """
                tenant: dev
                max_lifetime: 15m
                trust:
                  spiffe:
                    - trust_domain: dev.localhost
                      bundle: dev
                    - trust_domain: agents.test
                      bundle_file: agents.test.json
                capabilities:
                  - name: files.read
                    resource: https://mcp.dev.localhost/mcp
                    tools: [read_file, list_files]
                  - name: files.write
                    resource: https://mcp.dev.localhost/mcp
                    tools: [write_file]
                rules:
                  - name: the writer changes code
                    subjects: ["spiffe://agents.test/agents/writer"]
                    capabilities: [files.read, files.write]
                    permissions: [discover, execute]
                    purposes: [code-change]
                """);
            return [$"--Broker:Policy:Path={policy}"];
        }
    }
}
