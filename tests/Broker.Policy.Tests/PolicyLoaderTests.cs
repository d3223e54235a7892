namespace Broker.Policy.Tests;

public sealed class PolicyLoaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const string Valid = """
        tenant: acme
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.test/invoices
            tools: [list_invoices]
            max_lifetime: 5m
        rules:
          - name: agents
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read]
            permissions: [discover, execute]
            purposes: [billing]
            delegation:
              actors: ["spiffe://acme.test/orchestrator"]
              max_depth: 2
        """;

    private PolicyLoadResult Load(params (string File, string Content)[] files)
    {
        foreach (var (file, content) in files)
        {
            var path = Path.Combine(_directory, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }

        return PolicyLoader.Load(_directory, PolicyLoadOptions.Default);
    }

    [Fact]
    public void Load_ValidPolicy_CompilesEverySection()
    {
        var result = Load(("acme.yaml", Valid));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        var tenant = result.Policy!.Tenants["acme"];
        Assert.Equal(TimeSpan.FromMinutes(10), tenant.MaxLifetime);
        Assert.Equal(TimeSpan.FromMinutes(5), tenant.Capabilities["invoices.read"].MaxLifetime);
        var rule = Assert.Single(tenant.Rules);
        Assert.Equal(CapabilityPermissions.Discover | CapabilityPermissions.Execute, rule.Permissions);
        Assert.Equal(2, rule.Delegation!.MaxDepth);
        Assert.Equal(new Uri("https://spire.acme.test/bundle"), result.Policy.TrustDomains["acme.test"].Bundle.Endpoint);
        Assert.Matches("^sha256:[0-9a-f]{24}$", result.Policy.Version);
    }

    [Fact]
    public void Load_SameFilesTwice_SameVersion_AndAnyEditChangesIt()
    {
        var first = Load(("acme.yaml", Valid)).Policy!.Version;
        var second = PolicyLoader.Load(_directory, PolicyLoadOptions.Default).Policy!.Version;
        var edited = Load(("acme.yaml", Valid.Replace("10m", "9m", StringComparison.Ordinal))).Policy!.Version;

        Assert.Equal(first, second);
        Assert.NotEqual(first, edited);
    }

    [Theory]
    [InlineData("resource: https://mcp.acme.test/invoices", "https://mcp.acme.test/invoices")]
    [InlineData("resource: https://MCP.ACME.TEST:443/invoices", "https://MCP.ACME.TEST:443/invoices")]
    [InlineData("audience: https://mcp.acme.test/invoices", "https://mcp.acme.test/invoices")]
    public void Load_TwoTenantsDeclareTheSameResource_IsAnErrorAtTheSecond(string otherTarget, string quoted)
    {
        var other = $"tenant: globex\ncapabilities:\n  - name: steal\n    {otherTarget}\n";

        var result = Load(("acme.yaml", Valid), ("globex.yaml", other));

        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal("globex.yaml", error.File);
        Assert.Equal(3, error.Line);
        Assert.Contains($"'{quoted}' already belongs to tenant 'acme'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OneTenantDeclaresTheSameResourceTwice_IsFine()
    {
        var twoOnOneServer = Valid.Replace("rules:", "  - name: invoices.list\n    resource: https://mcp.acme.test/invoices\nrules:", StringComparison.Ordinal);

        var result = Load(("acme.yaml", twoOnOneServer));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
    }

    [Fact]
    public void Load_TenantSpreadOverFiles_IsMerged()
    {
        var result = Load(
            ("acme/trust.yaml", "tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle_endpoint: https://spire.acme.test/b\n"),
            ("acme/caps.yaml", "tenant: acme\ncapabilities:\n  - name: a\n    resource: https://mcp.acme.test/a\nrules:\n  - subjects: [\"spiffe://acme.test/x\"]\n    capabilities: [a]\n    permissions: [execute]\n"));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Single(result.Policy!.Tenants);
        Assert.Single(result.Policy.Tenants["acme"].Rules);
    }

    [Fact]
    public void Load_TenantRequiringProofOfPossession_InOneOfItsFiles_RequiresItForTheWholeTenant()
    {
        // Arrange: one file of the tenant says true, another false; the stricter wins.
        var result = Load(
            ("acme/trust.yaml", "tenant: acme\nproof_of_possession: true\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle_endpoint: https://spire.acme.test/b\n"),
            ("acme/caps.yaml", "tenant: acme\nproof_of_possession: false\ncapabilities:\n  - name: a\n    resource: https://mcp.acme.test/a\n"),
            ("globex.yaml", "tenant: globex\ncapabilities:\n  - name: a\n    resource: https://mcp.globex.test/a\n"));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.True(result.Policy!.Tenants["acme"].RequireProofOfPossession);
        Assert.False(result.Policy.Tenants["globex"].RequireProofOfPossession);
        Assert.False(result.Policy.Tenants["acme"].Capabilities["a"].RequireProofOfPossession);
    }

    [Theory]
    [InlineData("tenant: acme\nrules: [\n", 3, "not valid YAML")]
    [InlineData("tenant: acme\nunknown: 1\n", 2, "unknown key 'unknown'")]
    [InlineData("tenant: Acme\n", 1, "'tenant' must be")]
    [InlineData("tenant: \".\"\n", 1, "'tenant' must not be '.' or '..'")]
    [InlineData("tenant: \"..\"\n", 1, "'tenant' must not be '.' or '..'")]
    [InlineData("tenant: acme\nmax_lifetime: 2h\n", 2, "may not exceed 60 minutes")]
    [InlineData("tenant: acme\nmax_lifetime: soon\n", 2, "positive duration")]
    [InlineData("tenant: acme\ncapabilities:\n  - name: a b\n    resource: https://x.test/mcp\n", 3, "scope-token")]
    [InlineData("tenant: acme\ncapabilities:\n  - name: a\n    resource: http://x.test/mcp\n", 4, "https URI")]
    [InlineData("tenant: acme\ncapabilities:\n  - name: a\n", 3, "needs 'resource'")]
    [InlineData("tenant: acme\ncapabilities:\n  - name: a\n    resource: https://x.test/a\n  - name: a\n    resource: https://x.test/a\n", 5, "declared twice")]
    [InlineData("tenant: acme\nrules:\n  - subjects: [\"spiffe://acme.test/x\"]\n    capabilities: [nope]\n    permissions: [execute]\n", 3, "does not declare")]
    [InlineData("tenant: acme\nrules:\n  - subjects: [\"spiffe://acme.test/x\"]\n    capabilities: [\"*\"]\n    permissions: [run]\n", 5, "unknown permission 'run'")]
    [InlineData("tenant: acme\nrules:\n  - subjects: [\"spiffe://*.test/x\"]\n    capabilities: [\"*\"]\n    permissions: [execute]\n", 3, "must be exact")]
    [InlineData("tenant: acme\nrules:\n  - capabilities: [\"*\"]\n    permissions: [execute]\n", 3, "at least one entry in 'subjects'")]
    [InlineData("tenant: acme\nrules:\n  - subjects: [x]\n    capabilities: [\"*\"]\n    permissions: [execute]\n    delegation:\n      actors: [y]\n      max_depth: 9\n", 8, "from 1 to 8")]
    [InlineData("tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n", 4, "exactly one of")]
    [InlineData("tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle: dev\n", 5, "only accepted when the broker runs with --dev")]
    [InlineData("tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle_file: missing.json\n", 5, "does not exist")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: http://idp.test\n", 4, "must use https")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      subject: static\n", 5, "placeholder")]
    [InlineData("tenant: acme\ntrust:\n  spiffe:\n    - trust_domain: acme.test\n      bundle_endpoint: https://b.test\n      subjects: [\"spiffe://other.test/x\"]\n", 6, "outside trust domain")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      spiffe_trust_domains: [\"Not Valid\"]\n", 5, "is not a valid SPIFFE trust domain name")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      subject: \"spiffe://k8s.test/ns/{ns}\"\n", 5, "list it in 'spiffe_trust_domains'")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      subject: \"spiffe://{cluster}/ns/{ns}\"\n      spiffe_trust_domains: [k8s.test]\n", 5, "may not come from a claim")]
    [InlineData("tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      subjects: [\"oidc:https://idp.test#x\"]\n", 5, "names a source")]
    [InlineData("tenant: acme\nrules:\n  - subjects: [\"oidc:idp.test#x\"]\n    capabilities: [\"*\"]\n    permissions: [execute]\n", 3, "must be written oidc:")]
    [InlineData("tenant: acme\nrate_limits:\n  per_identity: fast\n", 3, "must be a rate such as")]
    [InlineData("tenant: acme\nrate_limits:\n  per_identity: 0/s\n", 3, "must be a rate such as")]
    [InlineData("tenant: acme\nrate_limits:\n  per_second: 5/s\n", 3, "unknown key 'per_second'")]
    [InlineData("tenant: acme\nrate_limits: 5/s\n", 2, "must be a mapping")]
    [InlineData("tenant: acme\nproof_of_possession: maybe\n", 2, "proof_of_possession")]
    public void Load_InvalidPolicy_ReportsFileAndLine(string content, int line, string message)
    {
        var result = Load(("bad.yaml", content));

        Assert.False(result.Succeeded);
        Assert.Null(result.Policy);
        Assert.Contains(result.Errors, e => e.File == "bad.yaml" && e.Line == line && e.Message.Contains(message, StringComparison.Ordinal));
        Assert.StartsWith($"bad.yaml:{line}:", result.Errors.First(e => e.Line == line).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OidcIssuerThatRendersSpiffeIds_NamesItsTrustDomains()
    {
        var result = Load(("k8s.yaml", "tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      subject: \"spiffe://k8s.test/ns/{kubernetes.io/namespace}\"\n      spiffe_trust_domains: [k8s.test, other.test]\n"));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(["k8s.test", "other.test"], result.Policy!.OidcIssuers["https://idp.test"].SpiffeTrustDomains.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Load_OidcIssuerWithoutSpiffeTrustDomains_MayRenderNone()
    {
        var result = Load(("idp.yaml", "tenant: acme\ntrust:\n  oidc:\n    - issuer: https://idp.test\n"));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Empty(result.Policy!.OidcIssuers["https://idp.test"].SpiffeTrustDomains);
    }

    [Fact]
    public void Load_OneIssuerWithDifferentSpiffeTrustDomainsInTwoTenants_IsRefused()
    {
        var result = Load(
            ("a.yaml", "tenant: a\ntrust:\n  oidc:\n    - issuer: https://idp.test\n      spiffe_trust_domains: [a.test]\n"),
            ("b.yaml", "tenant: b\ntrust:\n  oidc:\n    - issuer: https://idp.test\n"));

        Assert.Contains(result.Errors, e => e.Message.Contains("spiffe_trust_domains must agree", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_RateLimits_PerTenantOrBrokerDefault()
    {
        var result = Load(
            ("acme.yaml", Valid + "\nrate_limits:\n  per_identity: 50/s\n  per_tenant: off\n"),
            ("globex.yaml", "tenant: globex\n"));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        var limits = result.Policy!.Tenants["acme"].RateLimits!;
        Assert.Equal(new RateLimit(50, TimeSpan.FromSeconds(1)), limits.PerIdentity);
        Assert.Equal(RateLimit.Unlimited, limits.PerTenant);
        Assert.Null(result.Policy.Tenants["globex"].RateLimits);
    }

    [Fact]
    public void Load_RateLimitsTwiceForOneTenant_IsRefused()
    {
        var result = Load(
            ("a.yaml", "tenant: acme\nrate_limits:\n  per_identity: 5/s\n"),
            ("b.yaml", "tenant: acme\nrate_limits:\n  per_tenant: 50/s\n"));

        Assert.Contains(result.Errors, e => e.File == "b.yaml" && e.Message.Contains("already declares rate_limits", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_OneBadFileAmongGoodOnes_ProducesNoPolicy()
    {
        var result = Load(("acme.yaml", Valid), ("zz.yaml", "tenant: globex\ncapabilities: 3\n"));

        Assert.False(result.Succeeded);
        Assert.Null(result.Policy);
    }

    [Fact]
    public void Load_ConflictingBundleSourcesForOneTrustDomain_IsRefused()
    {
        var result = Load(
            ("a.yaml", "tenant: a\ntrust:\n  spiffe:\n    - trust_domain: shared.test\n      bundle_endpoint: https://one.test/b\n"),
            ("b.yaml", "tenant: b\ntrust:\n  spiffe:\n    - trust_domain: shared.test\n      bundle_endpoint: https://two.test/b\n"));

        Assert.Contains(result.Errors, e => e.Message.Contains("another bundle source", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_EmptyOrMissingDirectory_Fails()
    {
        Assert.False(PolicyLoader.Load(_directory, PolicyLoadOptions.Default).Succeeded);
        Assert.False(PolicyLoader.Load(Path.Combine(_directory, "nope"), PolicyLoadOptions.Default).Succeeded);
    }
}
