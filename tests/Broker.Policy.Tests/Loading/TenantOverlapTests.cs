namespace Broker.Policy.Tests.Loading;

/// <summary>
/// Trust entries of two tenants that could accept one workload are a load error (the workload would belong to both,
/// and every exchange of it would fail), named where the second entry is written, with both tenants and patterns.
/// </summary>
public sealed class TenantOverlapTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private PolicyLoadResult Load(params (string File, string Content)[] files)
    {
        foreach (var (file, content) in files)
        {
            File.WriteAllText(Path.Combine(_directory, file), content);
        }

        return PolicyLoader.Load(_directory, PolicyLoadOptions.Default);
    }

    private static string Spiffe(string tenant, string? subjects = null, string? claims = null) => $"""
        tenant: {tenant}
        trust:
          spiffe:
            - trust_domain: shared.test
              bundle_endpoint: https://spire.shared.test/bundle
        {(subjects is null ? "" : $"      subjects: {subjects}\n")}{(claims is null ? "" : $"      claims: {claims}\n")}
        """;

    private static string Oidc(string tenant, string? subjects = null, string? claims = null, string issuer = "https://k8s.test") => $"""
        tenant: {tenant}
        trust:
          oidc:
            - issuer: {issuer}
              subject: "system:serviceaccount:{"{kubernetes.io/namespace}"}:{"{kubernetes.io/serviceaccount/name}"}"
        {(subjects is null ? "" : $"      subjects: {subjects}\n")}{(claims is null ? "" : $"      claims: {claims}\n")}
        """;

    [Fact]
    public void Load_TwoTenantsTrustingAWholeTrustDomain_IsAnErrorNamingBoth()
    {
        // Act
        var result = Load(("a.yaml", Spiffe("a")), ("b.yaml", Spiffe("b")));

        // Assert
        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal("b.yaml", error.File);
        Assert.Equal(4, error.Line);
        Assert.StartsWith(
            "trust domain 'shared.test': tenant 'b' accepts every identity here and tenant 'a' accepts every identity (a.yaml:4), so one workload could belong to both",
            error.Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"spiffe://shared.test/agents/*\"]", "[\"spiffe://shared.test/*/reader\"]", "'spiffe://shared.test/*/reader'", "'spiffe://shared.test/agents/*'")]
    [InlineData("[\"spiffe://shared.test/agents/reader\"]", "[\"spiffe://shared.test/**\"]", "'spiffe://shared.test/**'", "'spiffe://shared.test/agents/reader'")]
    [InlineData("[\"spiffe://shared.test/agents/reader\"]", null, "every identity", "'spiffe://shared.test/agents/reader'")]
    public void Load_OverlappingSubjects_IsAnErrorNamingThePatterns(string first, string? second, string secondText, string firstText)
    {
        // Act
        var result = Load(("a.yaml", Spiffe("a", first)), ("b.yaml", Spiffe("b", second)));

        // Assert
        var error = Assert.Single(result.Errors);
        Assert.Contains($"tenant 'b' accepts {secondText} here and tenant 'a' accepts {firstText} (a.yaml:4)", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("narrow 'subjects' or 'claims' until at most one tenant matches", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"spiffe://shared.test/agents/*\"]", "[\"spiffe://shared.test/bots/**\"]")]
    [InlineData("[\"spiffe://shared.test/agents/*\"]", "[\"spiffe://shared.test/agents/*/*\"]")]
    [InlineData("[\"spiffe://shared.test/agents/reader\"]", "[\"spiffe://shared.test/agents/writer\"]")]
    public void Load_DisjointSubjects_Loads(string first, string second)
    {
        // Act
        var result = Load(("a.yaml", Spiffe("a", first)), ("b.yaml", Spiffe("b", second)));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(2, result.Policy!.TrustDomains["shared.test"].Tenants.Count);
    }

    [Fact]
    public void Load_OneClusterIssuerSplitByNamespace_Loads()
    {
        // Act: the docs' "two tenants on one Kubernetes cluster".
        var result = Load(
            ("payments.yaml", Oidc("payments", claims: "{ kubernetes.io/namespace: payments }")),
            ("marketing.yaml", Oidc("marketing", claims: "{ kubernetes.io/namespace: [marketing, marketing-batch] }")));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
    }

    [Theory]
    [InlineData("{ kubernetes.io/namespace: [a, shared] }", "{ kubernetes.io/namespace: [b, shared] }")] // a value in common
    [InlineData("{ kubernetes.io/namespace: a }", "{ env: prod }")]                                       // different claims can hold together
    [InlineData("{ kubernetes.io/namespace: a }", null)]                                                  // no condition at all
    public void Load_ClaimsThatCanHoldTogether_IsAnError(string first, string? second)
    {
        // Act
        var result = Load(("a.yaml", Oidc("a", claims: first)), ("b.yaml", Oidc("b", claims: second)));

        // Assert
        var error = Assert.Single(result.Errors);
        Assert.Equal("b.yaml", error.File);
        Assert.StartsWith("issuer 'https://k8s.test': tenant 'b' accepts every identity here and tenant 'a' accepts every identity (a.yaml:4), and no claim condition tells them apart", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SameExactSubjectInTwoTenants_IsAnError()
    {
        // Act
        var result = Load(
            ("a.yaml", Oidc("a", subjects: "[\"system:serviceaccount:ops:bot\"]")),
            ("b.yaml", Oidc("b", subjects: "[\"system:serviceaccount:ci:builder\", \"system:serviceaccount:ops:bot\"]")));

        // Assert
        Assert.Contains("tenant 'b' accepts 'system:serviceaccount:ops:bot' here and tenant 'a' accepts 'system:serviceaccount:ops:bot'", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SamePatternsOnDifferentIssuers_Loads()
    {
        // Act: the source is part of the identity; two clusters may both have ops:bot.
        var result = Load(
            ("a.yaml", Oidc("a", subjects: "[\"system:serviceaccount:ops:bot\"]", issuer: "https://one.test")),
            ("b.yaml", Oidc("b", subjects: "[\"system:serviceaccount:ops:bot\"]", issuer: "https://two.test")));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
    }

    [Fact]
    public void Load_OneTenantTrustingASourceTwice_IsNotAnOverlap()
    {
        // Act: a tenant spread over two files, both trusting the whole trust domain.
        var result = Load(("a1.yaml", Spiffe("a")), ("a2.yaml", Spiffe("a", "[\"spiffe://shared.test/agents/*\"]")));

        // Assert
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
    }

    [Fact]
    public void Load_ThreeTenantsOnOneSource_ReportsEachOverlappingPair()
    {
        // Act
        var result = Load(
            ("a.yaml", Spiffe("a", "[\"spiffe://shared.test/a/**\"]")),
            ("b.yaml", Spiffe("b", "[\"spiffe://shared.test/b/**\"]")),
            ("c.yaml", Spiffe("c", "[\"spiffe://shared.test/*/x\"]")));

        // Assert: c overlaps a (a/x) and b (b/x); a and b are disjoint.
        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.Equal("c.yaml", e.File));
        Assert.Contains(result.Errors, e => e.Message.Contains("tenant 'a' accepts 'spiffe://shared.test/a/**'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("tenant 'b' accepts 'spiffe://shared.test/b/**'", StringComparison.Ordinal));
    }
}
