using Broker.Grants;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Governance;

/// <summary>
/// The exchange fixture's broker with the governance keys of policy on top: tenant acme gains a login issuer whose
/// identities are humans, capabilities with approval paths (<c>caller:</c>) and task limits (a forbidden pair, at most
/// four grants per task); tenant globex gets a short longest task duration. Shared by a test class; every test uses
/// task IDs of its own.
/// </summary>
public abstract class GovernanceFixture : IAsyncLifetime
{
    public const string Resource = "https://mcp.acme.test/gov";
    public const int MaxGrants = 4;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(2);

    private readonly ExchangeFixture _exchange = new();

    public TestOidcIssuer Login { get; private set; } = null!;

    public ExchangeFixture Exchange => _exchange;

    internal IGrantStore Store => _exchange.Host.Services.GetRequiredService<IGrantStore>();

    /// <summary>Extra broker settings (the Redis store).</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public virtual async ValueTask InitializeAsync()
    {
        Login = await TestOidcIssuer.StartAsync();
        _exchange.Configure = Configure;
        _exchange.BeforeStart = () =>
        {
            _exchange.Directory.Write("policy/acme-governance.yaml", AcmeGovernance(Login.Issuer));
            _exchange.Directory.Write("policy/globex.yaml", Globex);
        };
        await _exchange.InitializeAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        await _exchange.DisposeAsync();
        await Login.DisposeAsync();
        GC.SuppressFinalize(this);
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
public sealed class InMemoryGovernanceFixture : GovernanceFixture;

/// <summary>The governance fixture on a redis-server of its own.</summary>
public sealed class RedisGovernanceFixture : GovernanceFixture
{
    private readonly RedisServerFixture _redis = new();

    public override async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Broker:Redis:Configuration"] = _redis.Configuration;
        settings["Broker:Redis:KeyPrefix"] = RedisServerFixture.NewKeyPrefix();
    }
}
