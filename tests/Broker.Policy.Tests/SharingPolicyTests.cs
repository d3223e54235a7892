using Microsoft.Extensions.Time.Testing;

namespace Broker.Policy.Tests;

/// <summary>
/// Sharing across tenants (docs/sharing.md): the owner's <c>shares:</c> and the consumer's <c>accepts:</c> in the loader
/// (every bad input a file:line error, one-sided entries kept for <c>brokerctl policy check</c>) and in the evaluator
/// (nothing crosses unless both sides agree, and the consumer's own rules, the share's subject patterns and the owner's
/// capability conditions all hold).
/// </summary>
public sealed class SharingPolicyTests : IDisposable
{
    private const string Tickets = "https://mcp.platform.test/tickets";

    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private readonly PolicyDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => _directory.Dispose();

    /// <summary>The owner: a platform team with two capabilities on its tickets MCP server.</summary>
    internal static string Platform(string shares) => $"""
        tenant: platform
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: platform.test
              bundle_endpoint: https://spire.platform.test/bundle
        capabilities:
          - name: tickets.read
            resource: {Tickets}
            tools: [search_tickets]
          - name: tickets.write
            resource: {Tickets}
            tools: [close_ticket]
            max_lifetime: 2m
            proof_of_possession: true
        rules:
          - subjects: ["spiffe://platform.test/agents/*"]
            capabilities: ["*"]
            permissions: [discover, execute]
        {shares}
        """;

    /// <summary>A consumer: its own capability, what it accepts, and a rule for its agents naming the accepted ones.</summary>
    internal static string Consumer(string tenant, string accepts, string ruleCapabilities, string extraRules = "") => $"""
        tenant: {tenant}
        trust:
          spiffe:
            - trust_domain: {tenant}.test
              bundle_endpoint: https://spire.{tenant}.test/bundle
        capabilities:
          - name: ledger.read
            resource: https://mcp.{tenant}.test/ledger
        {accepts}
        rules:
          - name: agents
            subjects: ["spiffe://{tenant}.test/agents/*"]
            capabilities: [ledger.read{ruleCapabilities}]
            permissions: [discover, execute]
        {extraRules}
        """;

    private const string ShareRead = """
        shares:
          - capabilities: [tickets.read, tickets.write]
            tenants: [payments, support]
            permissions: [discover, execute]
        """;

    private const string AcceptRead = """
        accepts:
          - tenant: platform
            capabilities: [tickets.read, tickets.write]
        """;

    // :: Loading

    [Fact]
    public void Load_BothSides_SharesAreInForceAndOneSidedOnesReported()
    {
        // Arrange: payments accepts, support does not; other accepts what is not shared with it.
        var policy = Load(
            ("platform.yaml", Platform(ShareRead)),
            ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")),
            ("support.yaml", Consumer("support", "", "")),
            ("other.yaml", Consumer("other", AcceptRead, "")));

        // Assert
        Assert.Equal(
            ["payments tickets.read", "payments tickets.write"],
            policy.Sharing.Active.Select(s => $"{s.Consumer} {s.Capability}").Order(StringComparer.Ordinal));
        Assert.Equal(
            ["support tickets.read", "support tickets.write"],
            policy.Sharing.OneSidedShares.Select(s => $"{s.Consumer} {s.Capability}").Order(StringComparer.Ordinal));
        Assert.Equal(
            ["other tickets.read", "other tickets.write"],
            policy.Sharing.OneSidedAcceptances.Select(a => $"{a.Consumer} {a.Capability}").Order(StringComparer.Ordinal));
        Assert.StartsWith("platform.yaml:", policy.Sharing.OneSidedShares[0].Location, StringComparison.Ordinal);
        Assert.NotNull(policy.Sharing.Find("payments", "platform", "tickets.read"));
        Assert.Null(policy.Sharing.Find("support", "platform", "tickets.read"));
        Assert.Null(policy.Sharing.Find("other", "platform", "tickets.read"));
    }

    [Fact]
    public void Load_NoSharing_IsNone()
    {
        var policy = Load(("payments.yaml", Consumer("payments", "", "")));

        Assert.Same(TenantSharing.None, policy.Sharing);
    }

    public static TheoryData<string, string, int, string> BadInput => new()
    {
        // (file that is bad, its content, line, message); platform.yaml and payments.yaml are otherwise valid.
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [nobody]\n    permissions: [execute]"), 21, "share names tenant 'nobody', which no policy file declares" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.delete]\n    tenants: [payments]\n    permissions: [execute]"), 21, "share names capability 'tickets.delete', which tenant 'platform' does not declare" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [platform]\n    permissions: [execute]"), 21, "tenant 'platform' cannot share with itself" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [execute]\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [discover]"), 24, "capability 'tickets.read' is already shared with tenant 'payments' at platform.yaml:21" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [publish]"), 23, "a share's permission must be discover or execute, not 'publish'" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [admin]"), 23, "a share's permission must be discover or execute, not 'admin'" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: []"), 23, "a share needs at least one permission" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [\"*\"]\n    tenants: [payments]\n    permissions: [execute]"), 21, "'*' is not allowed" },
        { "platform.yaml", Platform("shares:\n  - capabilities: []\n    tenants: [payments]\n    permissions: [execute]"), 21, "'capabilities' in a share needs at least one name" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [Payments!]\n    permissions: [execute]"), 22, "'Payments!' in 'tenants' of a share is not a valid name" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [execute]\n    subjects: [\"spiffe://payments.test/**/x\"]"), 24, "'**' is only allowed as the last path segment" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    tenants: [payments]\n    permissions: [execute]\n    expires: 1d"), 24, "unknown key 'expires'" },
        { "platform.yaml", Platform("shares:\n  - capabilities: [tickets.read]\n    permissions: [execute]"), 21, "'tenants'" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: nobody\n    capabilities: [tickets.read]", ""), 10, "acceptance names tenant 'nobody', which no policy file declares" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: platform\n    capabilities: [tickets.delete]", ""), 10, "acceptance names capability 'tickets.delete', which tenant 'platform' does not declare" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: payments\n    capabilities: [ledger.read]", ""), 10, "tenant 'payments' cannot accept from itself" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: platform\n    capabilities: [tickets.read]\n  - tenant: platform\n    capabilities: [tickets.read]", ""), 12, "capability 'tickets.read' of tenant 'platform' is already accepted at payments.yaml:10" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: platform\n    capabilities: [\"*\"]", ""), 11, "'*' is not allowed" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - capabilities: [tickets.read]", ""), 10, "'tenant'" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: platform\n    capabilities: [tickets.read]\n    permissions: [execute]", ""), 12, "unknown key 'permissions'" },
        { "payments.yaml", Consumer("payments", "", ", platform:tickets.read"), 11, "names capability 'platform:tickets.read', which tenant 'payments' does not declare" },
        { "payments.yaml", Consumer("payments", "accepts:\n  - tenant: platform\n    capabilities: [tickets.read]\n  - name: platform:tickets.read\n    resource: https://mcp.payments.test/clash", ""), 12, "unknown key 'name'" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Load_BadSharingInput_IsALoadErrorWithFileAndLine(string file, string content, int line, string message)
    {
        // Arrange: the other side valid, with a share and an acceptance of its own so both readers run.
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["platform.yaml"] = Platform(ShareRead),
            ["payments.yaml"] = Consumer("payments", AcceptRead, ""),
            ["support.yaml"] = Consumer("support", "", ""),
        };
        files[file] = content;

        // Act
        var result = LoadResult([.. files.Select(f => (f.Key, f.Value))]);

        // Assert
        Assert.False(result.Succeeded);
        Assert.Null(result.Policy);
        Assert.True(
            result.Errors.Any(e => e.File == file && e.Line == line && e.Message.Contains(message, StringComparison.Ordinal)),
            string.Join('\n', result.Errors));
    }

    [Fact]
    public void Load_ConsumerCapabilityNamedAsAnAcceptedOne_IsRefusedAtTheAcceptance()
    {
        // Arrange: payments' own capability has the name its rules would give the accepted one.
        var payments = Consumer("payments", AcceptRead, "").Replace(
            "capabilities:\n  - name: ledger.read",
            "capabilities:\n  - name: \"platform:tickets.read\"\n    resource: https://mcp.payments.test/clash\n  - name: ledger.read",
            StringComparison.Ordinal);

        // Act
        var result = LoadResult(("platform.yaml", Platform(ShareRead)), ("payments.yaml", payments));

        // Assert
        Assert.Contains(result.Errors, e => e.File == "payments.yaml" && e.Line == 12
            && e.Message.Contains("declares a capability named 'platform:tickets.read'", StringComparison.Ordinal));
    }

    // :: Evaluating

    [Fact]
    public void Evaluate_BothSidesAgree_GrantsTheOwnersCapabilityNamingBothTenants()
    {
        // Arrange
        var policy = Load(("platform.yaml", Platform(ShareRead)), ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")));

        // Act
        var decision = Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.read"));

        // Assert: the owner's tenant, its resource and names; the consumer named; the owner's tenant maximum applies.
        var allowed = Assert.IsType<PolicyDecision.Allowed>(decision);
        Assert.Equal("platform", allowed.Tenant);
        Assert.Equal("payments", allowed.ConsumerTenant);
        Assert.Equal(["tickets.read"], allowed.Capabilities);
        Assert.Equal(Tickets, allowed.Audience);
        Assert.Null(allowed.TaskLimits);
        Assert.Equal(TimeSpan.FromMinutes(5), allowed.Lifetime);
    }

    public static TheoryData<string, string, string> OneSided => new()
    {
        { "owner only", Platform(ShareRead), Consumer("payments", "", "") },
        { "consumer only", Platform(""), Consumer("payments", AcceptRead, ", platform:tickets.read") },
        { "neither", Platform(""), Consumer("payments", "", "") },
        { "both, but no rule of the consumer", Platform(ShareRead), Consumer("payments", AcceptRead, "") },
    };

    [Theory]
    [MemberData(nameof(OneSided))]
    public void Evaluate_WithoutBothSidesAndARule_IsRefusedAsNotAllowed(string state, string platform, string payments)
    {
        // Arrange
        var policy = Load(("platform.yaml", platform), ("payments.yaml", payments));

        // Act
        var decision = Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.read"));

        // Assert: the same answer as a capability that does not exist; nothing of the owner is learnt.
        Assert.True(Denied(decision) == PolicyDenialReason.ScopeNotAllowed || Denied(decision) == PolicyDenialReason.TargetMismatch, state);
        Assert.Equal(Denied(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "no.such.capability"))), Denied(decision));
        Assert.Equal("payments", ((PolicyDecision.Denied)decision).Tenant);
    }

    [Fact]
    public void Evaluate_ConsumerWildcardRule_DoesNotCoverASharedCapability()
    {
        // Arrange: payments accepts, and a rule gives its agents every capability ("*") but names no shared one.
        var wildcard = Consumer("payments", AcceptRead, "", """
              - subjects: ["spiffe://payments.test/agents/*"]
                capabilities: ["*"]
                permissions: [execute]
            """);
        var policy = Load(("platform.yaml", Platform(ShareRead)), ("payments.yaml", wildcard));

        // Act & Assert
        Assert.Equal(PolicyDenialReason.ScopeNotAllowed, Denied(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.read"))));
    }

    [Fact]
    public void Evaluate_SharePatternAndDiscoverOnly_RestrictWhoExecutes()
    {
        // Arrange: read shared for execution with the reconciler only; write for discovery only.
        const string Shares = """
            shares:
              - capabilities: [tickets.read]
                tenants: [payments]
                permissions: [discover, execute]
                subjects: ["spiffe://payments.test/agents/reconciler"]
              - capabilities: [tickets.write]
                tenants: [payments]
                permissions: [discover]
            """;
        var policy = Load(
            ("platform.yaml", Platform(Shares)),
            ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read, platform:tickets.write")));

        // Act & Assert
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.read")));
        Assert.Equal(PolicyDenialReason.ScopeNotAllowed, Denied(Evaluate(policy, Ask(Svid("payments", "agents/auditor"), "tickets.read"))));
        Assert.Equal(PolicyDenialReason.ScopeNotAllowed, Denied(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.write", bound: true))));
    }

    [Fact]
    public void Evaluate_OwnersCapabilityConditions_HoldForTheConsumer()
    {
        // Arrange
        var policy = Load(
            ("platform.yaml", Platform(ShareRead)),
            ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.write")));

        // Act & Assert: tickets.write requires proof of possession and lives at most 2 minutes, whoever asks.
        Assert.Equal(PolicyDenialReason.ProofOfPossessionRequired, Denied(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.write"))));
        var allowed = Assert.IsType<PolicyDecision.Allowed>(Evaluate(policy, Ask(Svid("payments", "agents/reconciler"), "tickets.write", bound: true)));
        Assert.Equal(TimeSpan.FromMinutes(2), allowed.Lifetime);
    }

    [Fact]
    public void Evaluate_ThirdTenant_GetsNothingOfAShareWithAnother()
    {
        // Arrange: support accepts too, but platform shares with payments only.
        const string Shares = """
            shares:
              - capabilities: [tickets.read]
                tenants: [payments]
                permissions: [discover, execute]
            """;
        var policy = Load(
            ("platform.yaml", Platform(Shares)),
            ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")),
            ("support.yaml", Consumer("support", AcceptRead, ", platform:tickets.read")));

        // Act & Assert
        Assert.IsType<PolicyDecision.Allowed>(Evaluate(policy, Ask(Svid("payments", "agents/a"), "tickets.read")));
        Assert.Equal(PolicyDenialReason.ScopeNotAllowed, Denied(Evaluate(policy, Ask(Svid("support", "agents/a"), "tickets.read"))));
    }

    [Fact]
    public void Evaluate_ReExchangeOfASharedGrant_IsDecidedInTheConsumerAndOnlyNarrows()
    {
        // Arrange: a token of the shared grant, presented again by the consumer's workload.
        var policy = Load(("platform.yaml", Platform(ShareRead)), ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")));
        var grant = new BrokerGrantContext("g1", "platform", ["tickets.read"], Tickets, [], "task-1", "triage") { ConsumerTenant = "payments" };
        var token = new WorkloadIdentity
        {
            Id = "spiffe://payments.test/agents/reconciler",
            Kind = IdentityKind.Broker,
            Source = "https://broker.test",
            Claims = new Dictionary<string, IReadOnlyList<string>>(),
            ExpiresAt = Now.AddMinutes(3),
            KeyId = "broker-key",
            Grant = grant,
        };

        // Act
        var narrowed = Evaluate(policy, Ask(token, "tickets.read"));
        var widened = Evaluate(policy, Ask(token, "tickets.read tickets.write", bound: true));

        // Assert
        var allowed = Assert.IsType<PolicyDecision.Allowed>(narrowed);
        Assert.Equal(("platform", "payments"), (allowed.Tenant, allowed.ConsumerTenant));
        Assert.Equal(TimeSpan.FromMinutes(3), allowed.Lifetime);
        Assert.Equal(PolicyDenialReason.ScopeBeyondSubjectToken, Denied(widened));
    }

    [Fact]
    public void Evaluate_ActorOfTheOwnerTenant_CannotActForAConsumerWorkload()
    {
        // Arrange
        var policy = Load(("platform.yaml", Platform(ShareRead)), ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")));

        // Act
        var decision = Evaluate(policy, Ask(Svid("payments", "agents/a"), "tickets.read", actor: Svid("platform", "agents/b")));

        // Assert: an actor belongs to the subject's tenant, sharing or not.
        Assert.Equal(PolicyDenialReason.ActorOtherTenant, Denied(decision));
    }

    [Fact]
    public void CatalogAccess_EvaluateShared_IsWhatBothSidesGive()
    {
        // Arrange: the share gives discover only; the consumer's rule gives discover and execute.
        const string Shares = """
            shares:
              - capabilities: [tickets.read]
                tenants: [payments]
                permissions: [discover]
            """;
        var policy = Load(("platform.yaml", Platform(Shares)), ("payments.yaml", Consumer("payments", AcceptRead, ", platform:tickets.read")));
        var share = policy.Sharing.Find("payments", "platform", "tickets.read")!;

        // Act
        var access = CatalogAccess.EvaluateShared(policy.Tenants["payments"], share, Svid("payments", "agents/a"));
        var outsider = CatalogAccess.EvaluateShared(policy.Tenants["payments"], share, Svid("payments", "bots/a"));

        // Assert
        Assert.Equal(CapabilityPermissions.Discover, access.Permissions);
        Assert.Equal(CapabilityPermissions.None, outsider.Permissions);
    }

    private PolicySet Load(params (string File, string Content)[] files)
    {
        // Support is a tenant in every directory (the owner's shares name it), accepting nothing unless a test says.
        var result = LoadResult([("support.yaml", Consumer("support", "", "")), .. files]);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!;
    }

    private PolicyLoadResult LoadResult(params (string File, string Content)[] files) => _directory.Write(files).Load();

    private PolicyDecision Evaluate(PolicySet policy, PolicyRequest request) => new PolicyEvaluator(_time).Evaluate(policy, request);

    private WorkloadIdentity Svid(string tenant, string path) => new()
    {
        Id = $"spiffe://{tenant}.test/{path}",
        Kind = IdentityKind.SpiffeJwt,
        Source = $"{tenant}.test",
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "k",
    };

    private static PolicyRequest Ask(WorkloadIdentity subject, string scope, WorkloadIdentity? actor = null, bool bound = false) =>
        new(bound ? subject with { ProofKeyThumbprint = "jkt" } : subject, actor, scope.Split(' '), Tickets, null, "triage", null);

    private static PolicyDenialReason Denied(PolicyDecision decision) => Assert.IsType<PolicyDecision.Denied>(decision).Reason;
}
