using Microsoft.Extensions.Time.Testing;

namespace Broker.Policy.Tests;

/// <summary>
/// The evaluator on its own, against policies compiled by the loader: tenant resolution with the identity's source,
/// deny by default, no partial grants, purposes, targets, claims, delegation, re-exchange narrowing and lifetime.
/// </summary>
public sealed class PolicyEvaluatorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private PolicySet Load(string yaml)
    {
        File.WriteAllText(Path.Combine(_directory, "policy.yaml"), yaml);
        var result = PolicyLoader.Load(_directory, PolicyLoadOptions.Default);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!;
    }

    private static WorkloadIdentity Oidc(string issuer, string id) => new()
    {
        Id = id,
        Kind = IdentityKind.Oidc,
        Source = issuer,
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        KeyId = "k",
    };

    private const string Policy = """
        tenant: acme
        trust:
          oidc:
            - issuer: https://listed.test
              subject: "{workload}"
              spiffe_trust_domains: [k8s.acme.test]
            - issuer: https://unlisted.test
              subject: "{workload}"
        """;

    [Theory]
    [InlineData("https://listed.test", "spiffe://k8s.acme.test/ns/a/sa/b", true)]
    [InlineData("https://listed.test", "spiffe://acme.test/platform/root", false)]     // another trust domain
    [InlineData("https://unlisted.test", "spiffe://k8s.acme.test/ns/a/sa/b", false)]   // the issuer lists none
    [InlineData("https://unlisted.test", "SPIFFE://k8s.acme.test/ns/a/sa/b", false)]   // any case of the scheme counts
    [InlineData("https://unlisted.test", "spiffe:not-an-id", false)]
    [InlineData("https://unlisted.test", "system:serviceaccount:a:b", true)]          // not a SPIFFE ID: any issuer
    public void ResolveTenant_OidcRenderedSpiffeId_OnlyForListedTrustDomains(string issuer, string id, bool placed)
    {
        // Arrange
        var policy = Load(Policy);

        // Act
        var (tenant, reason) = PolicyEvaluator.ResolveTenant(policy, Oidc(issuer, id));

        // Assert
        Assert.Equal(placed, tenant is not null);
        if (!placed)
        {
            Assert.Equal(PolicyDenialReason.SpiffeIdNotAllowed, reason);
        }
    }

    // :: The evaluator's decisions, against one two-tenant policy.

    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);

    private const string Files = "https://mcp.acme.test/files";

    private const string Tenants = """
        tenant: acme
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        capabilities:
          - name: files.read
            resource: https://mcp.acme.test/files
            audience: files
            max_lifetime: 5m
          - name: files.write
            resource: https://mcp.acme.test/files
            max_lifetime: 2m
          - name: mail.send
            resource: https://mcp.acme.test/mail
          - name: vault.open
            resource: https://mcp.acme.test/vault
            proof_of_possession: true
        rules:
          - name: agents read files
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [files.read, vault.open]
            permissions: [discover, execute]
          - name: the writer changes code, possibly for the orchestrator
            subjects: ["spiffe://acme.test/agents/writer"]
            capabilities: [files.read, files.write]
            permissions: [execute]
            purposes: [code-change]
            delegation:
              actors: ["spiffe://acme.test/orchestrator"]
              max_depth: 1
          - name: mail is only discoverable
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [mail.send]
            permissions: [discover, publish]
          - name: production CI reads files
            subjects: ["spiffe://acme.test/ci/*"]
            claims: { env: prod }
            capabilities: [files.read]
            permissions: [execute]
        ---
        tenant: globex
        trust:
          spiffe:
            - trust_domain: globex.test
              bundle_endpoint: https://spire.globex.test/bundle
        capabilities:
          - name: files.read
            resource: https://mcp.globex.test/files
        rules:
          - subjects: ["spiffe://globex.test/**"]
            capabilities: ["*"]
            permissions: [execute]
        """;

    private PolicyEvaluator Evaluator() => new(_time);

    private WorkloadIdentity Svid(string id, params (string Claim, string Value)[] claims) => new()
    {
        Id = id,
        Kind = IdentityKind.SpiffeJwt,
        Source = id["spiffe://".Length..id.IndexOf('/', "spiffe://".Length)],
        Claims = claims.GroupBy(c => c.Claim).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(c => c.Value)]),
        ExpiresAt = _time.GetUtcNow().AddMinutes(5),
        KeyId = "k",
    };

    /// <summary>A token of the broker, as its validator returns it: no upstream claims, the grant it carries.</summary>
    private WorkloadIdentity BrokerToken(string id, BrokerGrantContext grant, TimeSpan remaining) => new()
    {
        Id = id,
        Kind = IdentityKind.Broker,
        Source = "https://broker.test",
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = _time.GetUtcNow().Add(remaining),
        KeyId = "broker-key",
        Grant = grant,
    };

    private static PolicyRequest Ask(WorkloadIdentity subject, string scope, string? resource = Files, string? audience = null, string purpose = "triage", WorkloadIdentity? actor = null, TimeSpan? lifetime = null) =>
        new(subject, actor, scope.Split(' '), resource, audience, purpose, lifetime);

    private static PolicyDecision.Denied Denied(PolicyDecision decision, PolicyDenialReason reason)
    {
        var denied = Assert.IsType<PolicyDecision.Denied>(decision);
        Assert.Equal(reason, denied.Reason);
        return denied;
    }

    [Fact]
    public void Evaluate_AllowedRequest_GrantsExactlyWhatWasAsked()
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "files.read"));

        // Assert
        var allowed = Assert.IsType<PolicyDecision.Allowed>(decision);
        Assert.Equal(policy.Version, allowed.PolicyVersion);
        Assert.Equal("acme", allowed.Tenant);
        Assert.Equal(["files.read"], allowed.Capabilities);
        Assert.Equal(Files, allowed.Audience);
        Assert.Empty(allowed.ActorChain);
    }

    [Theory]
    [InlineData("files.read", null, 300)]          // the evaluator's default (5m) and the capability's 5m
    [InlineData("files.read", 3600, 300)]          // asked for more: the capability's maximum
    [InlineData("files.read", 30, 30)]             // asked for less: what was asked
    [InlineData("files.read files.write", 240, 120)] // the smallest capability maximum of the request
    public void Evaluate_Lifetime_IsTheSmallestOfAskedCapabilityAndTenant(string scope, int? asked, int expectedSeconds)
    {
        // Arrange
        var policy = Load(Tenants);
        var request = Ask(Svid("spiffe://acme.test/agents/writer"), scope, purpose: "code-change", lifetime: asked is { } s ? TimeSpan.FromSeconds(s) : null);

        // Act
        var decision = Evaluator().Evaluate(policy, request);

        // Assert
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), Assert.IsType<PolicyDecision.Allowed>(decision).Lifetime);
    }

    [Fact]
    public void Evaluate_TenantMaximumBelowEverythingElse_CapsTheLifetime()
    {
        // Arrange: a capability without its own maximum, asked for an hour; the tenant allows ten minutes.
        var policy = Load(Tenants.Replace("    resource: https://mcp.acme.test/vault\n    proof_of_possession: true", "    resource: https://mcp.acme.test/vault", StringComparison.Ordinal));
        var evaluator = new PolicyEvaluator(_time) { DefaultLifetime = TimeSpan.FromHours(1) };

        // Act
        var decision = evaluator.Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "vault.open", "https://mcp.acme.test/vault"));

        // Assert
        Assert.Equal(TimeSpan.FromMinutes(10), Assert.IsType<PolicyDecision.Allowed>(decision).Lifetime);
    }

    [Theory]
    [InlineData("spiffe://nowhere.test/agents/reader", "files.read", PolicyDenialReason.NoTenant)]                 // no tenant trusts the source
    [InlineData("spiffe://acme.test/agents/reader", "files.delete", PolicyDenialReason.ScopeNotAllowed)]           // no such capability
    [InlineData("spiffe://acme.test/agents/reader", "files.read files.write", PolicyDenialReason.ScopeNotAllowed)] // no partial grant
    [InlineData("spiffe://acme.test/agents/a/b", "files.read", PolicyDenialReason.ScopeNotAllowed)]                // '*' is one segment
    [InlineData("spiffe://acme.test/services/x", "files.read", PolicyDenialReason.ScopeNotAllowed)]                // in the tenant, in no rule
    public void Evaluate_NotAllowed_IsDeniedWithTheReason(string subject, string scope, PolicyDenialReason reason)
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid(subject), scope));

        // Assert
        var denied = Denied(decision, reason);
        Assert.Equal(policy.Version, denied.PolicyVersion);
        Assert.Equal(reason == PolicyDenialReason.NoTenant ? null : "acme", denied.Tenant);
    }

    [Fact]
    public void Evaluate_ResourceOfAnotherTenant_TargetMismatch()
    {
        // Arrange: globex declares a capability of the same name; acme's workload asks for it on globex's server.
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "files.read", "https://mcp.globex.test/files"));

        // Assert: acme's files.read does not live there; nothing crosses tenants.
        Assert.Equal("acme", Denied(decision, PolicyDenialReason.TargetMismatch).Tenant);
    }

    [Fact]
    public void Evaluate_DiscoverOrPublishOnly_DoesNotAllowExecute()
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "mail.send", "https://mcp.acme.test/mail"));

        // Assert
        Denied(decision, PolicyDenialReason.ScopeNotAllowed);
    }

    [Theory]
    [InlineData("code-change", true)]
    [InlineData("triage", false)]
    [InlineData(Grammar.NoPurpose, false)] // a request without a purpose never matches a rule that names purposes
    public void Evaluate_RuleWithPurposes_AllowsOnlyThose(string purpose, bool allowed)
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/writer"), "files.write", purpose: purpose));

        // Assert
        if (allowed)
        {
            Assert.IsType<PolicyDecision.Allowed>(decision);
        }
        else
        {
            Denied(decision, PolicyDenialReason.ScopeNotAllowed);
        }
    }

    [Theory]
    [InlineData(Files, null, Files)]
    [InlineData(null, "files", "files")]            // the capability's logical audience
    [InlineData(null, Files, Files)]                // its resource URI, sent as audience
    [InlineData(Files, "files", Files)]             // both, naming the same server: the resource is the audience
    public void Evaluate_TargetNamedByResourceOrAudience_IsTheTokensAudience(string? resource, string? audience, string expected)
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "files.read", resource, audience));

        // Assert
        Assert.Equal(expected, Assert.IsType<PolicyDecision.Allowed>(decision).Audience);
    }

    [Theory]
    [InlineData("https://mcp.acme.test/mail", null)]
    [InlineData(null, "mail")]
    [InlineData(Files, "mail")]                     // a resource and an audience of different servers
    [InlineData("https://MCP.acme.test/files", null)] // compared exactly, as the token's aud will be
    public void Evaluate_CapabilityNotOnTheTarget_TargetMismatch(string? resource, string? audience)
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/agents/reader"), "files.read", resource, audience));

        // Assert
        Denied(decision, PolicyDenialReason.TargetMismatch);
    }

    [Fact]
    public void Evaluate_ProofOfPossessionCapability_NeedsACertificateBinding()
    {
        // Arrange
        var policy = Load(Tenants);
        var bearer = Svid("spiffe://acme.test/agents/reader");
        var bound = bearer with { Kind = IdentityKind.SpiffeX509, CertificateThumbprint = "x5t" };

        // Act
        var refused = Evaluator().Evaluate(policy, Ask(bearer, "vault.open", "https://mcp.acme.test/vault"));
        var granted = Evaluator().Evaluate(policy, Ask(bound, "vault.open", "https://mcp.acme.test/vault"));

        // Assert
        Denied(refused, PolicyDenialReason.ProofOfPossessionRequired);
        Assert.IsType<PolicyDecision.Allowed>(granted);
    }

    private const string PopTenant = """
        tenant: acme
        proof_of_possession: true
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.test/invoices
        rules:
          - subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read]
            permissions: [execute]
        """;

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", null, true)]   // a DPoP key (RFC 9449)
    [InlineData(null, "x5t-of-the-client-certificate", true)]                 // a client certificate (RFC 8705)
    public void Evaluate_TenantRequiringProofOfPossession_AllowsOnlyASenderConstrainedSubject(string? jkt, string? x5t, bool allowed)
    {
        // Arrange
        var policy = Load(PopTenant);
        var subject = Svid("spiffe://acme.test/agents/reader") with { ProofKeyThumbprint = jkt, CertificateThumbprint = x5t };

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(subject, "invoices.read", "https://mcp.acme.test/invoices"));

        // Assert: a bearer request is refused with the reason that says a proof is needed.
        if (allowed)
        {
            Assert.IsType<PolicyDecision.Allowed>(decision);
        }
        else
        {
            Denied(decision, PolicyDenialReason.ProofOfPossessionRequired);
        }
    }

    [Theory]
    [InlineData("prod", true)]
    [InlineData("dev", false)]
    public void Evaluate_RuleWithClaims_ReadsThePresentedToken(string env, bool allowed)
    {
        // Arrange
        var policy = Load(Tenants);

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(Svid("spiffe://acme.test/ci/deploy", ("env", env)), "files.read"));

        // Assert
        Assert.Equal(allowed, decision is PolicyDecision.Allowed);
    }

    [Fact]
    public void Evaluate_RuleWithClaims_NeverMatchesABrokerToken()
    {
        // Arrange: the CI workload's own token carried env=prod; its re-exchange carries no upstream claims.
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.read"], Files, [], "task-1", "triage");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/ci/deploy", grant, TimeSpan.FromMinutes(3)), "files.read"));

        // Assert
        Denied(decision, PolicyDenialReason.ScopeNotAllowed);
    }

    [Fact]
    public void Evaluate_AllowedActor_PutsItFirstInTheChain()
    {
        // Arrange
        var policy = Load(Tenants);
        var request = Ask(Svid("spiffe://acme.test/agents/writer"), "files.write", purpose: "code-change", actor: Svid("spiffe://acme.test/orchestrator"));

        // Act
        var decision = Evaluator().Evaluate(policy, request);

        // Assert
        Assert.Equal(["spiffe://acme.test/orchestrator"], Assert.IsType<PolicyDecision.Allowed>(decision).ActorChain);
    }

    [Theory]
    [InlineData("spiffe://acme.test/agents/reader", PolicyDenialReason.ActorNotAllowed)]  // in the tenant, not in 'actors'
    [InlineData("spiffe://nowhere.test/x", PolicyDenialReason.ActorNotAllowed)]           // in no tenant
    [InlineData("spiffe://globex.test/orchestrator", PolicyDenialReason.ActorOtherTenant)] // in another tenant
    public void Evaluate_ActorNotAllowed_IsDenied(string actor, PolicyDenialReason reason)
    {
        // Arrange
        var policy = Load(Tenants);
        var request = Ask(Svid("spiffe://acme.test/agents/writer"), "files.write", purpose: "code-change", actor: Svid(actor));

        // Act
        var decision = Evaluator().Evaluate(policy, request);

        // Assert
        Assert.Equal("acme", Denied(decision, reason).Tenant);
    }

    [Fact]
    public void Evaluate_RuleWithoutDelegation_RefusesAnyActor()
    {
        // Arrange: agents/* read files under a rule without 'delegation'.
        var policy = Load(Tenants);
        var request = Ask(Svid("spiffe://acme.test/agents/reader"), "files.read", actor: Svid("spiffe://acme.test/orchestrator"));

        // Act
        var decision = Evaluator().Evaluate(policy, request);

        // Assert
        Denied(decision, PolicyDenialReason.ActorNotAllowed);
    }

    [Fact]
    public void Evaluate_ChainLongerThanMaxDepth_DelegationTooDeep()
    {
        // Arrange: the writer's token was already delegated once; a second actor would make the chain two long.
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.write"], Files, ["spiffe://acme.test/orchestrator"], "task-1", "code-change");
        var subject = BrokerToken("spiffe://acme.test/agents/writer", grant, TimeSpan.FromMinutes(1));
        var request = Ask(subject, "files.write", purpose: "code-change", actor: Svid("spiffe://acme.test/orchestrator"));

        // Act
        var decision = Evaluator().Evaluate(policy, request);

        // Assert
        Denied(decision, PolicyDenialReason.DelegationTooDeep);
    }

    [Fact]
    public void Evaluate_ReExchangeOfADelegatedToken_RechecksTheChainAndKeepsIt()
    {
        // Arrange
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.read", "files.write"], Files, ["spiffe://acme.test/orchestrator"], "task-1", "code-change");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/agents/writer", grant, TimeSpan.FromMinutes(1)), "files.write", purpose: "code-change"));

        // Assert
        Assert.Equal(["spiffe://acme.test/orchestrator"], Assert.IsType<PolicyDecision.Allowed>(decision).ActorChain);
    }

    [Fact]
    public void Evaluate_ReExchange_NeverOutlivesItsSubjectToken()
    {
        // Arrange: 90 seconds left on the subject token; the capability would allow five minutes.
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.read"], Files, [], "task-1", "triage");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/agents/reader", grant, TimeSpan.FromSeconds(90)), "files.read"));

        // Assert
        Assert.Equal(TimeSpan.FromSeconds(90), Assert.IsType<PolicyDecision.Allowed>(decision).Lifetime);
    }

    [Theory]
    [InlineData("files.read files.write", Files, PolicyDenialReason.ScopeBeyondSubjectToken)]
    [InlineData("vault.open", "https://mcp.acme.test/vault", PolicyDenialReason.ScopeBeyondSubjectToken)]
    public void Evaluate_ReExchangeAskingForMore_IsDenied(string scope, string resource, PolicyDenialReason reason)
    {
        // Arrange: the subject token carries files.read only.
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.read"], Files, [], "task-1", "code-change");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/agents/writer", grant, TimeSpan.FromMinutes(1)), scope, resource, purpose: "code-change"));

        // Assert
        Denied(decision, reason);
    }

    [Fact]
    public void Evaluate_ReExchangeToAnotherTargetOfTheSameCapability_TargetBeyondSubjectToken()
    {
        // Arrange: the token was minted for the logical audience; the re-exchange names the resource URI.
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "acme", ["files.read"], "files", [], "task-1", "triage");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/agents/reader", grant, TimeSpan.FromMinutes(1)), "files.read"));

        // Assert
        Denied(decision, PolicyDenialReason.TargetBeyondSubjectToken);
    }

    [Fact]
    public void Evaluate_BrokerTokenOfATenantNoLongerInPolicy_NoTenant()
    {
        // Arrange
        var policy = Load(Tenants);
        var grant = new BrokerGrantContext("g1", "initech", ["files.read"], Files, [], "task-1", "triage");

        // Act
        var decision = Evaluator().Evaluate(policy, Ask(BrokerToken("spiffe://acme.test/agents/reader", grant, TimeSpan.FromMinutes(1)), "files.read"));

        // Assert
        Assert.Null(Denied(decision, PolicyDenialReason.NoTenant).Tenant);
    }

    [Fact]
    public void ResolveTenant_ClaimListSatisfyingTwoTenants_AmbiguousTenant()
    {
        // Arrange: one issuer, two tenants told apart by a claim the loader takes to be single-valued; a token carries
        // it as a list holding both values, which no static check can rule out.
        var policy = Load("""
            tenant: a
            trust:
              oidc:
                - issuer: https://idp.test
                  claims: { team: a }
            ---
            tenant: b
            trust:
              oidc:
                - issuer: https://idp.test
                  claims: { team: b }
            """);
        var identity = Oidc("https://idp.test", "bot") with
        {
            Claims = new Dictionary<string, IReadOnlyList<string>> { ["team"] = ["a", "b"] },
        };

        // Act
        var (tenant, reason) = PolicyEvaluator.ResolveTenant(policy, identity);
        var (single, none) = PolicyEvaluator.ResolveTenant(policy, identity with { Claims = new Dictionary<string, IReadOnlyList<string>> { ["team"] = ["b"] } });

        // Assert
        Assert.Null(tenant);
        Assert.Equal(PolicyDenialReason.AmbiguousTenant, reason);
        Assert.Equal("b", single!.Name);
        Assert.Null(none);
    }
}
