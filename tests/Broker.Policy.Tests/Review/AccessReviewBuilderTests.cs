using System.Text.Json;
using Broker.Policy.Review;

namespace Broker.Policy.Tests.Review;

/// <summary>
/// <see cref="AccessReviewBuilder"/>: per capability its publishers, tools, rules and users; unused entitlements
/// ((rule subject pattern × capability) with execute and no matching identity's grant) and partly used rules; the caps.
/// </summary>
public sealed class AccessReviewBuilderTests : IDisposable
{
    private const string Login = "https://login.acme.test";
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);
    private readonly PolicyDirectory _directory = new();

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
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.test/invoices
            tools: [list_invoices]
          - name: invoices.write
            resource: https://mcp.acme.test/invoices
            tools: [create_invoice]
            caller:
              principal: human
          - name: crm.read
            resource: https://mcp.acme.test/crm
            tools: [find_contact]
        rules:
          - name: agents read
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read, crm.read]
            permissions: [discover, execute]
            purposes: [billing]
          - name: users write
            subjects: ["oidc:https://login.acme.test#alice"]
            capabilities: [invoices.write]
            permissions: [execute]
            caller:
              autonomous: false
          - name: the server publishes
            subjects: ["spiffe://acme.test/servers/invoices"]
            capabilities: ["*"]
            permissions: [publish]
          - name: the auditor may execute anything
            subjects: ["spiffe://acme.test/auditor"]
            capabilities: ["*"]
            permissions: [execute]
        """;

    private TenantPolicy Tenant()
    {
        return _directory.Write(("acme.yaml", Policy)).LoadValid().Tenants["acme"];
    }

    private static readonly ReviewPublication Invoices = new(
        "https://mcp.acme.test/invoices",
        "spiffe://acme.test/servers/invoices",
        Now.AddDays(-1),
        3,
        [new ReviewTool("list_invoices", "invoices.read", "List invoices", "Lists."), new ReviewTool("create_invoice", "invoices.write", null, null)]);

    [Fact]
    public void Build_ListsPublishersToolsRulesAndUsers_PerCapability()
    {
        // Arrange
        var usage = new UsageTally();
        usage.Add("invoices.read", "spiffe://acme.test/agents/a", 5);
        usage.Add("invoices.read", "spiffe://acme.test/agents/b", 7);
        usage.Add("invoices.write", "oidc:https://login.acme.test#alice", 2);
        usage.AddOverflow(3);

        // Act
        var review = AccessReviewBuilder.Build(Tenant(), "sha256:v", new ReviewWindow(Now, 30), [Invoices], usage, TimeSpan.FromSeconds(10));

        // Assert
        Assert.Equal(["crm.read", "invoices.read", "invoices.write"], review.Capabilities.Select(c => c.Name));
        var read = review.Capabilities.Single(c => c.Name == "invoices.read");
        Assert.Equal(12, read.Grants);
        Assert.Equal([("spiffe://acme.test/agents/b", 7L), ("spiffe://acme.test/agents/a", 5L)], read.UsedBy.Select(u => (u.Identity, u.Grants)));
        Assert.Equal("spiffe://acme.test/servers/invoices", Assert.Single(read.Publishers).PublishedBy);
        Assert.Equal("list_invoices", Assert.Single(read.Tools).Name);
        Assert.Equal(["agents read", "the server publishes", "the auditor may execute anything"], read.Rules.Select(r => r.Name));
        var agentsRead = read.Rules[0];
        Assert.Equal("acme.yaml:22", agentsRead.Source);
        Assert.Equal(["discover", "execute"], agentsRead.Permissions);
        Assert.Equal(["billing"], agentsRead.Purposes!);
        Assert.Equal("human", review.Capabilities.Single(c => c.Name == "invoices.write").Caller!.Principal);
        Assert.False(review.Capabilities.Single(c => c.Name == "invoices.write").Rules.Single(r => r.Name == "users write").Caller!.Autonomous);
        Assert.Empty(review.Capabilities.Single(c => c.Name == "crm.read").Publishers);
        Assert.All(review.Capabilities, c => Assert.Empty(c.SharedWith));
        Assert.All(review.Capabilities, c => Assert.Empty(c.Consumers));
        Assert.Equal(new ReviewUsage(17, 3, 10), review.Usage);
        Assert.Equal(new DateOnly(2026, 11, 3), review.From);
        Assert.Equal(new DateOnly(2026, 12, 2), review.To);
        Assert.False(review.Truncated);
    }

    [Fact]
    public void Build_UnusedEntitlements_ArePatternCapabilityPairsNoMatchingIdentityUsed()
    {
        // Arrange: agents used invoices.read only; alice (OIDC, qualified) used invoices.write; the auditor nothing.
        var usage = new UsageTally();
        usage.Add("invoices.read", "spiffe://acme.test/agents/a", 1);
        usage.Add("invoices.write", "oidc:https://login.acme.test#alice", 1);

        // Act
        var review = AccessReviewBuilder.Build(Tenant(), "v", new ReviewWindow(Now, 7), [], usage, TimeSpan.FromSeconds(10));

        // Assert: publish-only rules are no entitlement; "*" covers every capability.
        Assert.Equal(
            [
                ("crm.read", "agents read", "spiffe://acme.test/agents/*"),
                ("crm.read", "the auditor may execute anything", "spiffe://acme.test/auditor"),
                ("invoices.read", "the auditor may execute anything", "spiffe://acme.test/auditor"),
                ("invoices.write", "the auditor may execute anything", "spiffe://acme.test/auditor"),
            ],
            review.UnusedEntitlements.Select(u => (u.Capability, u.Rule, u.Subject)).Order());
        var partial = Assert.Single(review.PartialUse);
        Assert.Equal("spiffe://acme.test/agents/a", partial.Identity);
        Assert.Equal("agents read", partial.Rule);
        Assert.Equal(["invoices.read"], partial.Used);
        Assert.Equal(["crm.read"], partial.Unused);
    }

    [Fact]
    public void Build_AnIdentityOfAnotherIssuer_DoesNotUseAnIssuerQualifiedPattern()
    {
        // "alice" of another issuer is not the login issuer's alice: the entitlement stays unused.
        var usage = new UsageTally();
        usage.Add("invoices.write", "oidc:https://elsewhere.test#alice", 1);
        usage.Add("invoices.write", "alice", 1);

        var review = AccessReviewBuilder.Build(Tenant(), "v", new ReviewWindow(Now, 7), [], usage, TimeSpan.FromSeconds(10));

        Assert.Contains(review.UnusedEntitlements, u => u.Capability == "invoices.write" && u.Rule == "users write");
    }

    [Fact]
    public void Build_ManyIdentities_ListsTheMostActiveUpToTheCap_AndSaysItCut()
    {
        var usage = new UsageTally();
        for (var i = 0; i < ReviewLimits.MaxIdentitiesPerCapability + 5; i++)
        {
            usage.Add("invoices.read", $"spiffe://acme.test/agents/a{i:D3}", i + 1);
        }

        var review = AccessReviewBuilder.Build(Tenant(), "v", new ReviewWindow(Now, 7), [], usage, TimeSpan.FromSeconds(10));

        var read = review.Capabilities.Single(c => c.Name == "invoices.read");
        Assert.Equal(ReviewLimits.MaxIdentitiesPerCapability, read.UsedBy.Count);
        Assert.Equal("spiffe://acme.test/agents/a104", read.UsedBy[0].Identity);
        Assert.True(read.UsedByTruncated);
        Assert.True(review.Truncated);
        Assert.Equal(Enumerable.Range(1, 105).Sum(), read.Grants);
    }

    [Fact]
    public void Json_RoundTripsThroughTheSharedContext_InSnakeCase()
    {
        var review = AccessReviewBuilder.Build(Tenant(), "v", new ReviewWindow(Now, 1), [Invoices], new UsageTally(), TimeSpan.FromSeconds(10));

        var json = JsonSerializer.Serialize(review, AccessReviewJsonContext.Default.AccessReview);
        var back = JsonSerializer.Deserialize(json, AccessReviewJsonContext.Default.AccessReview)!;

        Assert.Contains("\"unused_entitlements\":", json, StringComparison.Ordinal);
        Assert.Contains("\"shared_with\":[]", json, StringComparison.Ordinal);
        Assert.Contains("\"from\":\"2026-12-02\"", json, StringComparison.Ordinal);
        Assert.Equal(review.Capabilities.Count, back.Capabilities.Count);
        Assert.Equal(review.UnusedEntitlements, back.UnusedEntitlements);
    }

    [Fact]
    public void Window_CoversTheLastNDays_TodayIncluded()
    {
        var window = new ReviewWindow(Now, 3);

        Assert.Equal([new DateOnly(2026, 11, 30), new DateOnly(2026, 12, 1), new DateOnly(2026, 12, 2)], window.EachDay());
    }
}
