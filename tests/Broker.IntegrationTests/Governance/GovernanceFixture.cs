using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Governance;

/// <summary>
/// The exchange fixture's broker with the governance keys of policy on top: tenant acme gains a login issuer whose
/// identities are humans, capabilities with approval paths (<c>caller:</c>) and task limits (a forbidden pair, at most
/// four grants per task); tenant globex gets a short longest task duration. Shared by a test class; every test uses
/// task IDs of its own.
/// </summary>
public abstract class GovernanceFixture(bool redis) : GrantStoreFixture(redis)
{
    public const string Resource = "https://mcp.acme.test/gov";
    public const int MaxGrants = 4;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(2);

    public TestOidcIssuer Login { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Login = await TestOidcIssuer.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Login.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected override void BeforeStart()
    {
        Exchange.Directory.Write("policy/acme-governance.yaml", AcmeGovernance(Login.Issuer));
        Exchange.Directory.Write("policy/globex.yaml", Globex);
    }

    /// <summary>A user's token from the login issuer (its <c>sub</c> is the user).</summary>
    public string UserToken(string user) => Login.ServiceAccountToken("users", "unused", claims: c => c["sub"] = user);

    private static string AcmeGovernance(string login) => $$"""
        tenant: acme
        trust:
          oidc:
            - issuer: {{login}}
              principal: human
        capabilities:
          - name: crm.read_all
            resource: {{Resource}}
          - name: email.send_external
            resource: {{Resource}}
          - name: reports.read
            resource: {{Resource}}
          - name: payments.refund
            resource: {{Resource}}
            caller:
              principal: human
          - name: ops.restart
            resource: {{Resource}}
            caller:
              autonomous: false
              max_actors: 1
          - name: audit.export
            resource: {{Resource}}
            caller:
              require_purpose: true
              actor_kinds: [workload]
        task_limits:
          forbidden_combinations:
            - [crm.read_all, email.send_external]
          max_grants: {{MaxGrants}}
        rules:
          - name: users, on their own or through agents
            subjects: ["alice"]
            capabilities: [payments.refund, ops.restart, reports.read]
            permissions: [execute]
            delegation:
              actors: ["spiffe://acme.test/agents/*", "spiffe://acme.test/orchestrator/**"]
              max_depth: 2
          - name: agents, on their own or supervised by a user
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [crm.read_all, email.send_external, reports.read, payments.refund, ops.restart, audit.export]
            permissions: [execute]
            delegation:
              actors: ["alice", "spiffe://acme.test/orchestrator/**"]
              max_depth: 2
          - name: users and agents see what the governed server offers
            subjects: ["alice", "spiffe://acme.test/agents/*"]
            capabilities: [crm.read_all, email.send_external, reports.read, payments.refund, ops.restart, audit.export]
            permissions: [discover]
        """;

    private const string Globex = $$"""
        tenant: globex
        admins: ["spiffe://globex.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: globex.test
              bundle_file: bundles/globex.json
        capabilities:
          - name: invoices.read
            resource: {{ExchangeFixture.GlobexInvoicesResource}}
        task_limits:
          max_duration: 2s
        rules:
          - subjects: ["spiffe://globex.test/agents/*"]
            capabilities: ["*"]
            permissions: [execute]
        """;
}

/// <summary>The governance fixture on the in-memory grant store.</summary>
public sealed class InMemoryGovernanceFixture() : GovernanceFixture(redis: false);

/// <summary>The governance fixture on a redis-server of its own.</summary>
public sealed class RedisGovernanceFixture() : GovernanceFixture(redis: true);
