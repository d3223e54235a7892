using Broker.Audit;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.Client.Tests.Infrastructure;

/// <summary>
/// The real broker on loopback with one tenant whose agents are SPIFFE workloads of <c>client.test</c>
/// (JWT authorities in a bundle file), and helpers to build clients against it.
/// </summary>
public sealed class ClientFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string McpResource = "https://mcp.client.test/mcp";
    public const string CrmResource = "https://mcp.client.test/crm";

    /// <summary>One tenant trusting SPIFFE trust domain <c>client.test</c> through <c>bundles/client.json</c>.</summary>
    public const string Policy = $$"""
        tenant: client
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: client.test
              bundle_file: bundles/client.json
        capabilities:
          - name: tools.read
            resource: {{McpResource}}
            max_lifetime: 5m
          - name: tools.call
            resource: {{McpResource}}
          - name: crm.read
            resource: {{CrmResource}}
            audience: crm
        rules:
          - name: agents
            subjects: ["spiffe://client.test/agents/*"]
            capabilities: [tools.read, tools.call, crm.read]
            permissions: [execute]
        """;

    public TempDirectory Directory { get; } = new();

    public TestSpiffeAuthority Authority { get; private set; } = null!;

    public BrokerTestHost Host { get; private set; } = null!;

    public Uri TokenEndpoint => new(Host.BaseAddress, "/oauth2/token");

    public async ValueTask InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory.Path, "policy", "bundles"));
        Authority = new TestSpiffeAuthority("client.test", Path.Combine(Directory.Path, "policy", "bundles", "client.json"));
        Directory.Write("policy/client.yaml", Policy);
        Host = await BrokerTestHost.StartAsync(Path.Combine(Directory.Path, "policy"));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Dispose();
    }

    /// <summary>A subject token source presenting a fresh JWT-SVID for <c>spiffe://client.test{path}</c>, counting calls.</summary>
    public CountingSource Svid(string path = "/agents/reader") => new(() => new SubjectToken(Authority.Svid(path), SubjectTokenTypes.Jwt));

    /// <summary>
    /// Options against the real broker; <paramref name="taskId"/> keeps each test's exchanges apart in the audit trail.
    /// Bearer tokens: this broker's issuer (<c>https://broker.test</c>) is not the loopback address the client calls,
    /// so a DPoP proof's <c>htu</c> could not name its token endpoint (DPoPClientTests cover DPoP, against stand-ins
    /// that listen where their metadata says, and this broker's refusal of a proof for another URL).
    /// </summary>
    public BrokerClientOptions Options(string taskId, ISubjectTokenSource? subject = null) => new()
    {
        TokenEndpoint = TokenEndpoint,
        UseDPoP = false,
        SubjectTokenSource = subject ?? Svid(),
        DefaultTaskId = taskId,
        DefaultPurpose = "client-tests",
    };

    /// <summary>Successful exchanges the broker recorded for <paramref name="taskId"/>.</summary>
    public int Exchanges(string taskId) =>
        Host.AuditTrail.Count(e => e.Type == AuditEventTypes.TokenExchange && e.Outcome == AuditOutcome.Allowed && e.TaskId == taskId);

    /// <summary>Refused exchanges the broker recorded for <paramref name="taskId"/>.</summary>
    internal AuditEvent? Refusal(string taskId) =>
        Host.AuditTrail.LastOrDefault(e => e.Type == AuditEventTypes.TokenExchange && e.Outcome != AuditOutcome.Allowed && e.TaskId == taskId);
}

/// <summary>A subject token source that counts calls and can be held until released.</summary>
public sealed class CountingSource(Func<SubjectToken> create) : ISubjectTokenSource
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>When set, every call waits for this task first.</summary>
    public Task? Gate { get; set; }

    public async ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        return create();
    }
}
