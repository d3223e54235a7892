using Microsoft.Extensions.Time.Testing;

namespace Broker.Policy.Tests;

/// <summary>
/// Discovery (<see cref="CatalogAccess.Evaluate"/>) and the exchange (<see cref="PolicyEvaluator"/>) agree on callers:
/// for every caller chain, capability and purpose, discovery says "executable" exactly when the evaluator allows, and
/// names the caller condition a refused caller breaks; what it cannot decide (a purpose to declare, task limits, a
/// decision point) it names as a condition.
/// </summary>
public sealed class CatalogAccessCallerTests : IDisposable
{
    private const string Login = "https://login.acme.test";
    private const string Cluster = "https://k8s.acme.test";
    private const string Ops = "https://mcp.acme.test/ops";
    private const string Agent = "spiffe://acme.test/agents/coder";
    private const string Orchestrator = "spiffe://acme.test/orchestrator";

    private static readonly string[] Capabilities = ["payments.refund", "ops.restart", "audit.export", "crm.read_all", "reports.read", "approvals.grant"];

    private readonly PolicyDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
    private readonly PolicySet _policy;

    public CatalogAccessCallerTests()
    {
        // The operator allows the decision point's host (Broker:AuthZen:AllowedHosts).
        _policy = _directory.Write(("acme.yaml", Policy))
            .LoadValid(PolicyLoadOptions.Default with { DecisionPointHosts = DecisionPointHosts.Create("pdp.acme.test") });
    }

    public void Dispose() => _directory.Dispose();

    private const string Policy = """
        tenant: acme
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
          oidc:
            - issuer: https://login.acme.test
              principal: human
            - issuer: https://k8s.acme.test
        decision_points:
          - name: approvals
            url: https://pdp.acme.test/access/v1/evaluation
        capabilities:
          - name: payments.refund
            resource: https://mcp.acme.test/ops
            caller:
              principal: human
              actor_kinds: [workload]
              max_actors: 1
          - name: ops.restart
            resource: https://mcp.acme.test/ops
            caller:
              autonomous: false
          - name: audit.export
            resource: https://mcp.acme.test/ops
            caller:
              require_purpose: true
          - name: crm.read_all
            resource: https://mcp.acme.test/ops
          - name: email.send_external
            resource: https://mcp.acme.test/ops
          - name: reports.read
            resource: https://mcp.acme.test/ops
          - name: approvals.grant
            resource: https://mcp.acme.test/ops
        task_limits:
          forbidden_combinations:
            - [crm.read_all, email.send_external]
        rules:
          - name: users, directly or through an agent
            subjects: ["alice", "bob"]
            capabilities: [payments.refund, ops.restart, audit.export, crm.read_all, reports.read]
            permissions: [discover, execute]
            delegation:
              actors: ["spiffe://acme.test/agents/*", "spiffe://acme.test/orchestrator", "alice", "bob"]
              max_depth: 2
          - name: agents on their own
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [payments.refund, ops.restart, audit.export, crm.read_all, reports.read]
            permissions: [discover, execute]
            delegation:
              actors: ["alice", "bob"]
              max_depth: 1
          - name: reports for the nightly run only without delegation
            subjects: ["system:serviceaccount:batch:nightly"]
            capabilities: [reports.read]
            permissions: [discover, execute]
            caller:
              principal: workload
              max_actors: 0
          - name: approvals only with the approvals service's consent
            subjects: ["alice", "spiffe://acme.test/agents/*"]
            capabilities: [approvals.grant]
            permissions: [discover, execute]
            decision_point: approvals
        """;

    public static TheoryData<string> Callers => new(
        "alice", "bob", "agent", "nightly", "stranger",
        "token:alice:h", "token:alice>agent:hw", "token:agent>alice:wh", "token:agent:w", "token:alice>agent>orchestrator:hww",
        "token:alice>bob:hh", "token:agent>orchestrator:ww", "token:alice:legacy");

    [Theory]
    [MemberData(nameof(Callers))]
    public void Discovery_AgreesWithTheExchange_OnEveryCapabilityAndPurpose(string caller)
    {
        // Arrange
        var subject = Subject(caller);
        var tenant = _policy.Tenants["acme"];
        var kinds = PolicyEvaluator.CallerOf(_policy, tenant, subject);
        var evaluator = new PolicyEvaluator(_time);

        foreach (var name in Capabilities)
        {
            var capability = tenant.Capabilities[name];

            // Act: with a purpose, both are asked about it; without one, discovery is asked before the caller said.
            var withPurpose = evaluator.Evaluate(_policy, new PolicyRequest(subject, null, [name], Ops, null, "triage", null));
            var withoutPurpose = evaluator.Evaluate(_policy, new PolicyRequest(subject, null, [name], Ops, null, Grammar.NoPurpose, null));
            var discoveredFor = CatalogAccess.Evaluate(tenant, capability, subject, "triage", kinds);
            var discovered = CatalogAccess.Evaluate(tenant, capability, subject, null, kinds);

            // Assert
            Assert.True(
                withPurpose is PolicyDecision.Allowed == discoveredFor.Has(CapabilityPermissions.Execute),
                $"{caller} / {name} / purpose: exchange {Describe(withPurpose)}, discovery {discoveredFor}");
            Assert.True(
                withoutPurpose is PolicyDecision.Allowed == (discovered.Has(CapabilityPermissions.Execute) && !discovered.Conditions.HasFlag(ExecutionConditions.Purpose)),
                $"{caller} / {name} / no purpose: exchange {Describe(withoutPurpose)}, discovery {discovered}");
            if (withPurpose is PolicyDecision.Denied { Reason: not PolicyDenialReason.ScopeNotAllowed } denied && discoveredFor.Denial is { } reason)
            {
                // A caller refused by a caller condition or delegation is told one of the same family of reasons.
                Assert.True(denied.Reason >= PolicyDenialReason.ActorNotAllowed && reason >= PolicyDenialReason.ActorNotAllowed, $"{caller} / {name}: {denied.Reason} vs {reason}");
            }
        }
    }

    [Fact]
    public void Evaluate_AgentAlone_RefundNeedsAHuman_RestartRefusesAutonomous_WithTheReason()
    {
        var tenant = _policy.Tenants["acme"];
        var agent = Subject("agent");
        var kinds = PolicyEvaluator.CallerOf(_policy, tenant, agent);

        var refund = CatalogAccess.Evaluate(tenant, tenant.Capabilities["payments.refund"], agent, null, kinds);
        var restart = CatalogAccess.Evaluate(tenant, tenant.Capabilities["ops.restart"], agent, null, kinds);

        Assert.False(refund.Has(CapabilityPermissions.Execute));
        Assert.True(refund.Has(CapabilityPermissions.Discover));
        Assert.Equal(PolicyDenialReason.HumanPrincipalRequired, refund.Denial);
        Assert.Equal(PolicyDenialReason.AutonomousCallerRefused, restart.Denial);
    }

    [Fact]
    public void Evaluate_HumanCaller_IsExecutable_WhereTheAgentIsNot()
    {
        var tenant = _policy.Tenants["acme"];
        var alice = Subject("alice");

        var refund = CatalogAccess.Evaluate(tenant, tenant.Capabilities["payments.refund"], alice, null, PolicyEvaluator.CallerOf(_policy, tenant, alice));

        Assert.True(refund.Has(CapabilityPermissions.Execute));
        Assert.Null(refund.Denial);
    }

    [Fact]
    public void Evaluate_WithoutCallerKinds_TakesABrokerTokensOwnChain()
    {
        var tenant = _policy.Tenants["acme"];

        // A broker token of alice's carries "h": no kinds passed, the token's are used, and alice is human.
        var refund = CatalogAccess.Evaluate(tenant, tenant.Capabilities["payments.refund"], Subject("token:alice:h"));

        Assert.True(refund.Has(CapabilityPermissions.Execute));
    }

    [Fact]
    public void Evaluate_Conditions_NameWhatOnlyTheTokenEndpointDecides()
    {
        var tenant = _policy.Tenants["acme"];
        var agent = Subject("agent");
        var kinds = PolicyEvaluator.CallerOf(_policy, tenant, agent);
        ExecutionConditions Of(string name, string? purpose = null) => CatalogAccess.Evaluate(tenant, tenant.Capabilities[name], agent, purpose, kinds).Conditions;

        // require_purpose: named until a purpose is given.
        Assert.Equal(ExecutionConditions.Purpose, Of("audit.export"));
        Assert.Equal(ExecutionConditions.None, Of("audit.export", "triage"));

        // A forbidden combination the capability is part of: the task's other grants decide.
        Assert.Equal(ExecutionConditions.TaskLimits, Of("crm.read_all"));
        Assert.Equal(ExecutionConditions.None, Of("reports.read"));

        // Allowed only by a rule that delegates to a decision point.
        Assert.Equal(ExecutionConditions.DecisionPoint, Of("approvals.grant"));
    }

    private static string Describe(PolicyDecision decision) => decision is PolicyDecision.Denied d ? "denied " + d.Reason : "allowed";

    /// <summary>
    /// A caller by name: a user of the login issuer, the agent SVID, the nightly Kubernetes workload, a stranger; or
    /// <c>token:SUBJECT&gt;ACTOR…:KINDS</c>, a broker token of SUBJECT with that actor chain and caller claim
    /// (<c>legacy</c>: none).
    /// </summary>
    private WorkloadIdentity Subject(string caller)
    {
        if (!caller.StartsWith("token:", StringComparison.Ordinal))
        {
            return caller switch
            {
                "alice" or "bob" => Identity(caller, IdentityKind.Oidc, Login),
                "agent" => Identity(Agent, IdentityKind.SpiffeJwt, "acme.test"),
                "nightly" => Identity("system:serviceaccount:batch:nightly", IdentityKind.Oidc, Cluster),
                _ => Identity("spiffe://acme.test/strangers/x", IdentityKind.SpiffeJwt, "acme.test"),
            };
        }

        var parts = caller.Split(':');
        var chain = parts[1].Split('>').Select(Name).ToArray();
        var grant = new BrokerGrantContext("g1", "acme", Capabilities, Ops, chain[1..], "task-1", "triage")
        {
            Caller = CallerKinds.TryParse(parts[2], out var kinds) ? kinds : null,
        };
        return Identity(chain[0], IdentityKind.Broker, "https://broker.test") with { Grant = grant };

        static string Name(string who) => who switch { "agent" => Agent, "orchestrator" => Orchestrator, _ => who };
    }

    private WorkloadIdentity Identity(string id, IdentityKind kind, string source) => new()
    {
        Id = id,
        Kind = kind,
        Source = source,
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "k",
    };
}
