using System.Collections.Frozen;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Policy.Tests;

/// <summary>
/// The governance keys of a policy: approval paths by caller (<c>caller:</c> on capabilities and rules, <c>principal:</c>
/// on OIDC trust entries) and task limits (<c>task_limits:</c>), in the loader (every bad input a file:line error) and
/// the evaluator.
/// </summary>
public sealed class GovernancePolicyTests : IDisposable
{
    private const string Login = "https://login.acme.test";
    private const string Cluster = "https://k8s.acme.test";
    private const string Ops = "https://mcp.acme.test/ops";

    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly PolicyDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => _directory.Dispose();

    /// <summary>
    /// Users sign in at a login issuer marked human; agents are SVIDs; a Kubernetes issuer (not marked) has workloads.
    /// </summary>
    private const string Governed = """
        tenant: acme
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
          oidc:
            - issuer: https://login.acme.test
              principal: human
            - issuer: https://k8s.acme.test
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
        task_limits:
          forbidden_combinations:
            - [crm.read_all, email.send_external]
          max_grants: 20
          max_duration: 2h
        rules:
          - name: users, directly or through an agent
            subjects: ["alice", "bob"]
            capabilities: ["*"]
            permissions: [execute]
            delegation:
              actors: ["spiffe://acme.test/agents/*", "spiffe://acme.test/orchestrator", "alice", "bob"]
              max_depth: 2
          - name: agents on their own
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: ["*"]
            permissions: [execute]
            delegation:
              actors: ["alice", "bob"]
              max_depth: 1
          - name: reports for autonomous callers only for the nightly run
            subjects: ["system:serviceaccount:batch:nightly"]
            capabilities: [reports.read]
            permissions: [execute]
            caller:
              principal: workload
              max_actors: 0
          - name: reports for humans, any purpose
            subjects: ["alice", "bob"]
            capabilities: [reports.read]
            permissions: [execute]
            caller:
              principal: human
        """;

    // :: Loading

    [Fact]
    public void Load_GovernedPolicy_CompilesCallerConditionsPrincipalsAndTaskLimits()
    {
        // Act
        var policy = Load(("acme.yaml", Governed));

        // Assert
        var tenant = policy.Tenants["acme"];
        var refund = tenant.Capabilities["payments.refund"].Caller!;
        Assert.Equal(PrincipalKind.Human, refund.Principal);
        Assert.Equal(1, refund.MaxActors);
        Assert.Equal([PrincipalKind.Workload], refund.ActorKinds!);
        Assert.False(tenant.Capabilities["ops.restart"].Caller!.AllowAutonomous);
        Assert.True(tenant.Capabilities["audit.export"].Caller!.RequirePurpose);
        Assert.Null(tenant.Capabilities["crm.read_all"].Caller);
        Assert.Equal(0, tenant.Rules[2].Caller!.MaxActors);
        Assert.Equal(PrincipalKind.Human, Assert.Single(policy.OidcIssuers[Login].Tenants).Principal);
        Assert.Equal(PrincipalKind.Workload, Assert.Single(policy.OidcIssuers[Cluster].Tenants).Principal);
        var limits = tenant.TaskLimits!;
        Assert.Equal(20, limits.MaxGrants);
        Assert.Equal(TimeSpan.FromHours(2), limits.MaxDuration);
        Assert.Equal(["crm.read_all", "email.send_external"], Assert.Single(limits.ForbiddenCombinations).Order());
    }

    [Fact]
    public void Load_TaskLimitsInAnotherFileOfTheTenant_CheckNamesAgainstTheWholeTenant()
    {
        var policy = Load(
            ("a.yaml", "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n"),
            ("b.yaml", "tenant: acme\ncapabilities:\n  - name: b\n    resource: https://x.test/b\ntask_limits:\n  forbidden_combinations: [[a, b]]\n"));

        Assert.Single(policy.Tenants["acme"].TaskLimits!.ForbiddenCombinations);
    }

    private const string Capabilities = "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n  - name: b\n    resource: https://x.test/b\n";

    public static TheoryData<string, int, string> BadInput => new()
    {
        // task_limits (lines counted in the whole file; the two capabilities take lines 1-6).
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - [a, nope]\n", 9, "names capability 'nope', which tenant 'acme' does not declare" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - [a]\n", 9, "names 2 to 8 capabilities" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - [a, b, c, d, e, f, g, h, i]\n", 9, "names 2 to 8 capabilities" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - [a, a]\n", 9, "appears twice" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - [a, \"*\"]\n", 9, "is not a capability name" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n    - a\n", 9, "must be a list of capability names" },
        { Capabilities + "task_limits:\n  forbidden_combinations: [a, b]\n", 8, "must be a list of capability names" },
        { Capabilities + "task_limits:\n  max_grants: -1\n", 8, "whole number from 1 to 100000" },
        { Capabilities + "task_limits:\n  max_grants: 0\n", 8, "whole number from 1 to 100000" },
        { Capabilities + "task_limits:\n  max_grants: many\n", 8, "whole number from 1 to 100000" },
        { Capabilities + "task_limits:\n  max_duration: -5m\n", 8, "positive duration" },
        { Capabilities + "task_limits:\n  max_duration: 0s\n", 8, "positive duration" },
        { Capabilities + "task_limits:\n  max_duration: 169h\n", 8, "may not exceed 168h" },
        { Capabilities + "task_limits:\n  max_tasks: 3\n", 8, "unknown key 'max_tasks'" },
        { Capabilities + "task_limits: {}\n", 7, "needs at least one of" },
        { Capabilities + "task_limits: 5\n", 7, "'task_limits' must be a mapping" },
        { Capabilities + "task_limits:\n  forbidden_combinations:\n" + string.Concat(Enumerable.Repeat("    - [a, b]\n", 65)), 9, "at most 64 entries" },

        // caller, on a capability (line 4) or a rule (line 8).
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      principal: robot\n", 6, "unknown kind 'robot' in 'principal'" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      max_actors: 9\n", 6, "from 0 to 8" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      max_actors: -1\n", 6, "from 0 to 8" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      autonomous: never\n", 6, "must be true or false" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      require_purpose: yes\n", 6, "must be true or false" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      actor_kinds: [human, robots]\n", 6, "unknown kind 'robots' in 'actor_kinds'" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      actor_kinds: []\n", 6, "needs at least one of human, workload" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      humans_only: true\n", 6, "unknown key 'humans_only'" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller: {}\n", 5, "needs at least one of" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller: human\n", 5, "must be a mapping" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n    caller:\n      principal: workload\n      autonomous: false\n      max_actors: 0\n", 6, "can never be met" },
        { "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\nrules:\n  - subjects: [x]\n    capabilities: [a]\n    permissions: [execute]\n    caller:\n      principal: workload\n      autonomous: false\n      actor_kinds: [workload]\n", 10, "can never be met" },

        // principal, on an OIDC trust entry only.
        { "tenant: acme\ntrust:\n  oidc:\n    - issuer: https://login.test\n      principal: admin\n", 5, "unknown kind 'admin' in 'principal'" },
        { "tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle_endpoint: https://b.test\n      principal: human\n", 6, "unknown key 'principal'" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Load_BadGovernanceInput_IsALoadErrorWithFileAndLine(string content, int line, string message)
    {
        // Act
        var result = LoadResult(("bad.yaml", content));

        // Assert
        Assert.False(result.Succeeded);
        Assert.Null(result.Policy);
        Assert.Contains(result.Errors, e => e.File == "bad.yaml" && e.Line == line && e.Message.Contains(message, StringComparison.Ordinal));
        Assert.StartsWith($"bad.yaml:{line}:", result.Errors.First(e => e.Line == line).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TaskLimitsTwiceForOneTenant_IsRefusedAtTheSecond()
    {
        var result = LoadResult(
            ("a.yaml", "tenant: acme\ntask_limits:\n  max_grants: 5\n"),
            ("b.yaml", "tenant: acme\ntask_limits:\n  max_grants: 6\n"));

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.File == "b.yaml" && e.Line == 3 && e.Message.Contains("already declares task_limits in a.yaml", StringComparison.Ordinal));
    }

    // :: Approval paths

    [Fact]
    public void Evaluate_HumanPrincipalRequired_AcceptsAUserThroughAnAgent_AndCarriesTheKinds()
    {
        // Act: the user's token is the subject, the agent's SVID the actor.
        var decision = Evaluate(Ask(User("alice"), "payments.refund", actor: Svid("spiffe://acme.test/agents/coder")));

        // Assert
        var allowed = Assert.IsType<PolicyDecision.Allowed>(decision);
        Assert.Equal("hw", allowed.Caller.ToString());
        Assert.False(allowed.Caller.IsAutonomous);
        Assert.Equal(["spiffe://acme.test/agents/coder"], allowed.ActorChain);
    }

    [Fact]
    public void Evaluate_HumanPrincipalRequired_RefusesAnAutonomousAgentAndAnUnmarkedIssuer()
    {
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "payments.refund")), PolicyDenialReason.HumanPrincipalRequired);

        // A user acting as the actor of an agent is still not a human principal: the capability is the agent's.
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "payments.refund", actor: User("alice"))), PolicyDenialReason.HumanPrincipalRequired);
    }

    [Fact]
    public void Evaluate_ActorKindsAndChainLength_OfACapability_HoldWhateverTheRuleAllows()
    {
        // The rule lets a user act (actor_kinds: [workload] does not) and lets chains of two (max_actors: 1 does not).
        Denied(Evaluate(Ask(User("alice"), "payments.refund", actor: User("bob"))), PolicyDenialReason.ActorKindNotAllowed);
        var twoDeep = BrokerToken(
            "alice",
            new BrokerGrantContext("AAAA.grant", "acme", ["payments.refund"], Ops, ["spiffe://acme.test/agents/coder"], "t-1", "triage") { Caller = CallerKinds.TryParse("hw", out var k) ? k : null });
        Denied(Evaluate(Ask(twoDeep, "payments.refund", actor: Svid("spiffe://acme.test/orchestrator"))), PolicyDenialReason.CallerChainTooLong);

        // The user alone, no actor: allowed.
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(User("alice"), "payments.refund")));
    }

    [Fact]
    public void Evaluate_AutonomousCallersRefused_UnlessAHumanIsSomewhereInTheChain()
    {
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "ops.restart")), PolicyDenialReason.AutonomousCallerRefused);

        var supervised = Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "ops.restart", actor: User("alice"))));
        Assert.Equal("wh", supervised.Caller.ToString());
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(User("alice"), "ops.restart")));
    }

    [Fact]
    public void Evaluate_PurposeRequired_RefusesARequestWithoutOne()
    {
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "audit.export", purpose: Grammar.NoPurpose)), PolicyDenialReason.PurposeRequired);
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "audit.export")));
    }

    [Fact]
    public void Evaluate_RulesAsApprovalPaths_EachCallerMatchesOnlyItsOwn()
    {
        // The batch path is for workloads without actors; the human path for users.
        var batch = Oidc(Cluster, "system:serviceaccount:batch:nightly");
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(batch, "reports.read")));
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(User("alice"), "reports.read")));

        // A batch workload is no human: it never gets onto the human path, and the human-only capability says so.
        Denied(Evaluate(Ask(batch, "payments.refund")), PolicyDenialReason.ScopeNotAllowed);
    }

    [Fact]
    public void Evaluate_CallerConditionsOfACapability_AreNotRevealedToACallerNoRuleNames()
    {
        // A workload no rule names learns only that it is not allowed, not that a human would be.
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/strangers/x"), "payments.refund")), PolicyDenialReason.ScopeNotAllowed);
    }

    [Fact]
    public void Evaluate_ReExchange_KeepsTheKindsItsTokenCarries_AndTakesATokenWithoutThemForWorkloads()
    {
        // Arrange
        var grant = new BrokerGrantContext("AAAA.grant", "acme", ["payments.refund"], Ops, ["spiffe://acme.test/agents/coder"], "t-1", "triage");

        // Act + Assert
        var kept = Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(BrokerToken("alice", grant with { Caller = Kinds("hw") }), "payments.refund")));
        Assert.Equal("hw", kept.Caller.ToString());
        Denied(Evaluate(Ask(BrokerToken("alice", grant), "payments.refund")), PolicyDenialReason.HumanPrincipalRequired);

        // Kinds that do not fit the chain (one letter per identity) are not believed either.
        Denied(Evaluate(Ask(BrokerToken("alice", grant with { Caller = Kinds("h") }), "payments.refund")), PolicyDenialReason.HumanPrincipalRequired);
    }

    [Fact]
    public void KindOf_TwoEntriesOfATenantThatDisagree_MakeTheIdentityAWorkload()
    {
        var policy = Load(("acme.yaml", """
            tenant: acme
            trust:
              oidc:
                - issuer: https://login.acme.test
                  principal: human
                  subjects: ["*"]
                - issuer: https://login.acme.test
                  subjects: ["svc-*"]
            """.Replace("\"*\"", "\"alice\"", StringComparison.Ordinal).Replace("\"svc-*\"", "\"alice\"", StringComparison.Ordinal)));

        Assert.Equal(PrincipalKind.Workload, PolicyEvaluator.KindOf(policy, "acme", Oidc(Login, "alice")));
        Assert.Equal(PrincipalKind.Workload, PolicyEvaluator.KindOf(policy, "acme", Svid("spiffe://acme.test/agents/x")));
    }

    [Theory]
    [InlineData("hw", true)]
    [InlineData("w", true)]
    [InlineData("hwwwwwwww", true)]
    [InlineData("hwwwwwwwww", false)]
    [InlineData("", false)]
    [InlineData("x", false)]
    [InlineData("H", false)]
    [InlineData(null, false)]
    public void CallerKinds_TryParse_AcceptsOnlyOneLetterPerIdentity(string? text, bool valid)
    {
        Assert.Equal(valid, CallerKinds.TryParse(text, out var kinds));
        if (valid)
        {
            Assert.Equal(text, kinds!.ToString());
        }
    }

    // :: Task limits in the evaluator

    [Fact]
    public void Evaluate_RequestHoldingAWholeForbiddenCombination_IsRefused()
    {
        Denied(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "crm.read_all email.send_external")), PolicyDenialReason.ForbiddenCombination);
    }

    [Fact]
    public void Evaluate_RequestHoldingHalfAForbiddenPair_CarriesTheOtherHalfForTheStore()
    {
        var allowed = Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "crm.read_all reports.read")));

        Assert.Equal(["email.send_external"], Assert.Single(allowed.ForbiddenRemainders));
        Assert.Equal(20, allowed.TaskLimits!.MaxGrants);
        Assert.Empty(Assert.IsType<PolicyDecision.Allowed>(Evaluate(Ask(Svid("spiffe://acme.test/agents/coder"), "reports.read"))).ForbiddenRemainders);
    }

    [Fact]
    public void RemaindersFor_SetOfThree_NamesWhatTheRestOfTheTaskMustNotHoldTogether()
    {
        var limits = new TaskLimits { ForbiddenCombinations = [new[] { "a", "b", "c" }.ToFrozenSet(StringComparer.Ordinal), new[] { "a", "d" }.ToFrozenSet(StringComparer.Ordinal)] };

        var remainders = limits.RemaindersFor(["a"], out var alone);

        Assert.False(alone);
        Assert.Equal([["b", "c"], ["d"]], remainders);
        Assert.Empty(limits.RemaindersFor(["e"], out _));
        Assert.Empty(limits.RemaindersFor(["b", "a", "c"], out alone));
        Assert.True(alone);
    }

    // :: Helpers

    private PolicySet Load(params (string File, string Content)[] files)
    {
        var result = LoadResult(files);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!;
    }

    private PolicyLoadResult LoadResult(params (string File, string Content)[] files) => _directory.Write(files).Load();

    private PolicyDecision Evaluate(PolicyRequest request)
    {
        if (!File.Exists(Path.Combine(_directory.Path, "acme.yaml")))
        {
            _directory.Write(("acme.yaml", Governed));
        }

        return new PolicyEvaluator(_time).Evaluate(_directory.LoadValid(), request);
    }

    private static CallerKinds? Kinds(string text) => CallerKinds.TryParse(text, out var kinds) ? kinds : null;

    private WorkloadIdentity User(string name) => Oidc(Login, name);

    private WorkloadIdentity Oidc(string issuer, string id) => new()
    {
        Id = id,
        Kind = IdentityKind.Oidc,
        Source = issuer,
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "k",
    };

    private WorkloadIdentity Svid(string id) => new()
    {
        Id = id,
        Kind = IdentityKind.SpiffeJwt,
        Source = "acme.test",
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "k",
    };

    private WorkloadIdentity BrokerToken(string id, BrokerGrantContext grant) => new()
    {
        Id = id,
        Kind = IdentityKind.Broker,
        Source = "https://broker.test",
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "broker-key",
        Grant = grant,
    };

    private static PolicyRequest Ask(WorkloadIdentity subject, string scope, string purpose = "triage", WorkloadIdentity? actor = null) =>
        new(subject, actor, scope.Split(' '), Ops, null, purpose, null);

    private static void Denied(PolicyDecision decision, PolicyDenialReason reason) =>
        Assert.Equal(reason, Assert.IsType<PolicyDecision.Denied>(decision).Reason);
}
