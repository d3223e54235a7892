namespace Broker.Policy.Tests;

/// <summary>
/// External decision points (OpenID AuthZEN) in policy: what the loader accepts and refuses, and how the evaluator
/// composes a delegating rule with the others (allow rules: one that decides alone wins; otherwise the first delegating
/// rule that matches names the decision point that must permit).
/// </summary>
public sealed class DecisionPointPolicyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const string Tenant = """
        tenant: acme
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        decision_points:
          - name: opa
            url: https://pdp.acme.test/access/v1/evaluation
            bearer_token_secret: opa-token
            timeout: 250ms
            cache_ttl: 10s
          - name: cedar
            url: https://cedar.acme.test/access/v1/evaluation
        capabilities:
          - { name: invoices.read, resource: "https://mcp.acme.test/invoices" }
          - { name: invoices.write, resource: "https://mcp.acme.test/invoices" }
        rules:
          - name: agents read if opa agrees
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read, invoices.write]
            permissions: [execute]
            decision_point: opa
          - name: agents read if cedar agrees
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read]
            permissions: [execute]
            decision_point: cedar
          - name: the auditor reads on its own
            subjects: ["spiffe://acme.test/agents/auditor"]
            capabilities: [invoices.read]
            permissions: [execute]
        """;

    /// <summary>The production defaults with the decision point hosts these tests name allowed.</summary>
    private static readonly PolicyLoadOptions Allowed = PolicyLoadOptions.Default with
    {
        DecisionPointHosts = DecisionPointHosts.Create("pdp.acme.test", "cedar.acme.test", "topaz.acme.test", "pdp.globex.test", "127.0.0.1:8181"),
    };

    private PolicyLoadResult Load(string content, PolicyLoadOptions? options = null, string file = "acme.yaml")
    {
        File.WriteAllText(Path.Combine(_directory, file), content);
        return PolicyLoader.Load(_directory, options ?? Allowed);
    }

    [Fact]
    public void Load_DecisionPoints_CompiledWithTheirSettingsAndDefaults()
    {
        // Act
        var result = Load(Tenant);

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        var tenant = result.Policy!.Tenants["acme"];
        var opa = tenant.DecisionPoints["opa"];
        Assert.Equal(("acme", new Uri("https://pdp.acme.test/access/v1/evaluation"), "opa-token"), (opa.Tenant, opa.EvaluationEndpoint, opa.BearerTokenSecret));
        Assert.Equal((TimeSpan.FromMilliseconds(250), (TimeSpan?)TimeSpan.FromSeconds(10)), (opa.Timeout, opa.CacheFor));
        var cedar = tenant.DecisionPoints["cedar"];
        Assert.Equal((DecisionPoint.DefaultTimeout, (TimeSpan?)null, (string?)null), (cedar.Timeout, cedar.CacheFor, cedar.BearerTokenSecret));
        Assert.Equal(["opa", "cedar", null], tenant.Rules.Select(r => r.DecisionPoint));
    }

    [Fact]
    public void Load_LoopbackHttpDecisionPoint_OnlyWhereTheProcessAllowsIt()
    {
        // Arrange
        var loopback = Tenant.Replace("https://cedar.acme.test/access/v1/evaluation", "http://127.0.0.1:8181/access/v1/evaluation", StringComparison.Ordinal);

        // Act
        var production = Load(loopback);
        var tests = Load(loopback, Allowed with { AllowInsecureLoopbackUrls = true });

        // Assert
        Assert.Contains(production.Errors, e => e.Message.Contains("must use https", StringComparison.Ordinal));
        Assert.True(tests.Succeeded, string.Join('\n', tests.Errors));
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "url: https://cedar.acme.test/access/v1/evaluation", "url: http://cedar.acme.test/access/v1/evaluation", "must use https" },
        { "url: https://cedar.acme.test/access/v1/evaluation", "url: https://user:pw@cedar.acme.test/access/v1/evaluation", "without user info" },
        { "url: https://cedar.acme.test/access/v1/evaluation", "url: https://cedar.acme.test/access/v1/evaluation#x", "without user info or fragment" },
        { "url: https://cedar.acme.test/access/v1/evaluation", "url: pdp.acme.test/access/v1/evaluation", "absolute URL" },
        { "    url: https://cedar.acme.test/access/v1/evaluation\n", "", "requires 'url'" },
        { "name: cedar\n", "name: Cedar\n", "must be 1-64 characters" },
        { "bearer_token_secret: opa-token", "bearer_token_secret: ../etc/passwd", "never a path" },
        { "bearer_token_secret: opa-token", "bearer_token_secret: /run/secrets/opa", "never a path" },
        { "bearer_token_secret: opa-token", "bearer_token_secret: .hidden", "never a path" },
        { "timeout: 250ms", "timeout: 5ms", "from 10ms to 10s" },
        { "timeout: 250ms", "timeout: 11s", "from 10ms to 10s" },
        { "timeout: 250ms", "timeout: soon", "such as 250ms" },
        { "cache_ttl: 10s", "cache_ttl: 6m", "from 1ms to 5m" },
        { "cache_ttl: 10s", "cache_ttl: -1s", "such as 250ms" },
        { "cache_ttl: 10s", "cache: 10s", "unknown key 'cache'" },
        { "name: cedar\n", "name: opa\n", "decision point 'opa' is declared twice" },
        { "decision_point: cedar", "decision_point: rego", "names decision point 'rego', which tenant 'acme' does not declare" },
        { "decision_point: cedar", "decision_point: Cedar!", "must name a decision point" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Load_InvalidDecisionPoint_ReportsIt(string valid, string invalid, string message)
    {
        // Arrange
        Assert.Contains(valid, Tenant, StringComparison.Ordinal);

        // Act
        var result = Load(Tenant.Replace(valid, invalid, StringComparison.Ordinal));

        // Assert
        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.File == "acme.yaml" && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_NoAllowedHosts_EveryDecisionPointIsAnErrorAtItsUrl()
    {
        // Act: the production defaults allow no decision point host.
        var result = Load(Tenant, PolicyLoadOptions.Default);

        // Assert: one error per decision point, at the line of its url.
        Assert.False(result.Succeeded);
        var lines = Tenant.Split('\n');
        Assert.Equal(
            [("acme.yaml", LineOf(lines, "https://pdp.acme.test/")), ("acme.yaml", LineOf(lines, "https://cedar.acme.test/"))],
            result.Errors.Select(e => (e.File, e.Line)));
        Assert.All(result.Errors, e => Assert.Contains("decision points are disabled: the broker's Broker:AuthZen:AllowedHosts lists no host", e.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://pdp.acme.test:8443/access/v1/evaluation", "pdp.acme.test:8443")]
    [InlineData("https://metadata.internal/computeMetadata/v1", "metadata.internal")]
    [InlineData("https://169.254.169.254/latest/meta-data", "169.254.169.254")]
    [InlineData("https://pdp.acme.test.evil.test/access/v1/evaluation", "pdp.acme.test.evil.test")]
    [InlineData("https://redis.internal:6379/", "redis.internal:6379")]
    public void Load_DecisionPointOnAHostNotAllowed_IsAnErrorAtItsUrl(string url, string authority)
    {
        // Arrange
        var content = Tenant.Replace("https://cedar.acme.test/access/v1/evaluation", url, StringComparison.Ordinal);

        // Act
        var result = Load(content);

        // Assert: only the decision point on the host not allowed, with file and line; no policy at all.
        Assert.Null(result.Policy);
        var error = Assert.Single(result.Errors);
        Assert.Equal(("acme.yaml", LineOf(content.Split('\n'), url)), (error.File, error.Line));
        Assert.Equal($"a decision point's 'url' names host '{authority}', which is not in the broker's Broker:AuthZen:AllowedHosts", error.Message);
    }

    [Fact]
    public void Load_LoopbackDecisionPointOnAnotherPort_IsAnError()
    {
        // Arrange: http on loopback is allowed here, but only port 8181 is.
        var content = Tenant.Replace("https://cedar.acme.test/access/v1/evaluation", "http://127.0.0.1:8182/access/v1/evaluation", StringComparison.Ordinal);

        // Act
        var result = Load(content, Allowed with { AllowInsecureLoopbackUrls = true });

        // Assert
        Assert.Contains(result.Errors, e => e.Message.Contains("names host '127.0.0.1:8182'", StringComparison.Ordinal));
    }

    private static int LineOf(string[] lines, string text) => Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal)) + 1;

    [Fact]
    public void Load_RuleNamingAnotherTenantsDecisionPoint_IsAnError()
    {
        // Arrange: globex declares "opa"; acme's rule names a decision point acme lacks.
        File.WriteAllText(Path.Combine(_directory, "globex.yaml"), """
            tenant: globex
            decision_points:
              - { name: shared, url: "https://pdp.globex.test/access/v1/evaluation" }
            """);

        // Act
        var result = Load(Tenant.Replace("decision_point: cedar", "decision_point: shared", StringComparison.Ordinal));

        // Assert: nothing crosses tenants.
        Assert.Contains(result.Errors, e => e.File == "acme.yaml" && e.Message.Contains("names decision point 'shared', which tenant 'acme' does not declare", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_DecisionPointDeclaredInAnotherFileOfTheTenant_IsUsable()
    {
        // Arrange: the declaration in one file, the rule in another.
        File.WriteAllText(Path.Combine(_directory, "acme-pdp.yaml"), """
            tenant: acme
            decision_points:
              - { name: topaz, url: "https://topaz.acme.test/access/v1/evaluation" }
            """);

        // Act
        var result = Load(Tenant.Replace("decision_point: cedar", "decision_point: topaz", StringComparison.Ordinal));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(3, result.Policy!.Tenants["acme"].DecisionPoints.Count);
    }

    // :: The evaluator.

    private static WorkloadIdentity Agent(string path) => new()
    {
        Id = "spiffe://acme.test" + path,
        Kind = IdentityKind.SpiffeJwt,
        Source = "acme.test",
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        KeyId = "k",
    };

    private PolicyDecision Evaluate(string path, string scope)
    {
        var policy = Load(Tenant);
        Assert.True(policy.Succeeded, string.Join('\n', policy.Errors));
        return new PolicyEvaluator(TimeProvider.System).Evaluate(
            policy.Policy!, new PolicyRequest(Agent(path), null, scope.Split(' '), "https://mcp.acme.test/invoices", null, "billing", null));
    }

    [Fact]
    public void Evaluate_OnlyDelegatingRulesMatch_AllowedWithTheFirstOnesDecisionPointForEachCapability()
    {
        // Act
        var decision = Assert.IsType<PolicyDecision.Allowed>(Evaluate("/agents/reader", "invoices.read invoices.write"));

        // Assert: both capabilities by the first matching rule (opa); cedar's rule comes later.
        Assert.Equal(
            [("invoices.read", "agents read if opa agrees", "opa"), ("invoices.write", "agents read if opa agrees", "opa")],
            decision.Delegated.Select(d => (d.Capability, d.Rule, d.DecisionPoint.Name)));
    }

    [Fact]
    public void Evaluate_ARuleThatDecidesAloneMatches_NothingDelegated()
    {
        // Act: the auditor's own rule comes after both delegating rules, and still wins.
        var decision = Assert.IsType<PolicyDecision.Allowed>(Evaluate("/agents/auditor", "invoices.read"));

        // Assert
        Assert.Empty(decision.Delegated);
    }

    [Fact]
    public void Evaluate_NoRuleMatches_DeniedLocally_NothingToDelegate()
    {
        // Act
        var decision = Evaluate("/tools/indexer", "invoices.read");

        // Assert
        Assert.Equal(PolicyDenialReason.ScopeNotAllowed, Assert.IsType<PolicyDecision.Denied>(decision).Reason);
    }
}
