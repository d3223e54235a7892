namespace Broker.Policy.Tests;

/// <summary>
/// The catalog keys of a tenant (<c>publishing:</c>, <c>discovery:</c>) as the loader reads them, and
/// <see cref="CatalogAccess"/>: who may discover, execute and publish, and how a capability is listed.
/// </summary>
public sealed class CatalogAccessTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private const string Policy = """
        tenant: acme
        {0}
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.test/invoices
            tools: [list_invoices]
          - name: invoices.write
            resource: https://mcp.acme.test/invoices
            tools: [create_invoice]
        rules:
          - subjects: ["spiffe://acme.test/agents/reader"]
            capabilities: [invoices.read]
            permissions: [discover, execute]
          - subjects: ["spiffe://acme.test/agents/reader"]
            capabilities: [invoices.write]
            permissions: [discover]
          - subjects: ["spiffe://acme.test/agents/billing"]
            capabilities: [invoices.write]
            permissions: [execute]
            purposes: [billing, refunds]
          - subjects: ["spiffe://acme.test/agents/billing"]
            capabilities: [invoices.write]
            permissions: [execute]
            purposes: [audit]
          - subjects: ["spiffe://acme.test/servers/invoices"]
            capabilities: ["*"]
            permissions: [publish]
          - subjects: ["spiffe://acme.test/agents/namespaced"]
            claims:
              team: [payments]
            capabilities: [invoices.read]
            permissions: [discover, execute]
        """;

    private PolicyLoadResult Load(params (string File, string Content)[] files)
    {
        foreach (var (file, content) in files)
        {
            File.WriteAllText(Path.Combine(_directory, file), content);
        }

        return PolicyLoader.Load(_directory, PolicyLoadOptions.Default);
    }

    private TenantPolicy Tenant(string settings = "")
    {
        var result = Load(("acme.yaml", Policy.Replace("{0}", settings, StringComparison.Ordinal)));
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!.Tenants["acme"];
    }

    private static WorkloadIdentity Svid(string path, IReadOnlyDictionary<string, IReadOnlyList<string>>? claims = null) => new()
    {
        Id = "spiffe://acme.test" + path,
        Kind = IdentityKind.SpiffeJwt,
        Source = "acme.test",
        Claims = claims ?? new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        KeyId = "k",
    };

    [Theory]
    [InlineData("", PublishingMode.Optional, DiscoveryMode.ListUnexecutable)]
    [InlineData("publishing: required", PublishingMode.Required, DiscoveryMode.ListUnexecutable)]
    [InlineData("publishing: optional\ndiscovery: hide", PublishingMode.Optional, DiscoveryMode.Hide)]
    [InlineData("discovery: list_unexecutable", PublishingMode.Optional, DiscoveryMode.ListUnexecutable)]
    public void Load_CatalogKeys_AreRead(string settings, PublishingMode publishing, DiscoveryMode discovery)
    {
        var tenant = Tenant(settings);

        Assert.Equal(new CatalogSettings(publishing, discovery), tenant.Catalog);
    }

    [Theory]
    [InlineData("publishing: mandatory", "'publishing' must be optional or required")]
    [InlineData("publishing: [required]", "'publishing'")]
    [InlineData("discovery: show", "'discovery' must be list_unexecutable or hide")]
    [InlineData("catalog: {}", "unknown key 'catalog'")]
    public void Load_BadCatalogKey_IsAnErrorAtItsLine(string settings, string message)
    {
        var result = Load(("acme.yaml", Policy.Replace("{0}", settings, StringComparison.Ordinal)));

        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Load_PublishingRequired_CapabilityWithoutResourceOrTools_IsAnError()
    {
        var result = Load(("acme.yaml", "tenant: acme\npublishing: required\ncapabilities:\n  - name: a\n    audience: a-server\n    tools: [x]\n  - name: b\n    resource: https://b.test/\n"));

        Assert.False(result.Succeeded);
        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e => Assert.Contains("requires publishing", e.Message, StringComparison.Ordinal));
        Assert.Equal([4, 7], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void Load_SettingsAcrossFiles_TheStricterWins()
    {
        var result = Load(
            ("acme.yaml", Policy.Replace("{0}", "publishing: optional\ndiscovery: list_unexecutable", StringComparison.Ordinal)),
            ("acme-more.yaml", "tenant: acme\npublishing: required\ndiscovery: hide\n"));

        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        Assert.Equal(new CatalogSettings(PublishingMode.Required, DiscoveryMode.Hide), result.Policy!.Tenants["acme"].Catalog);
    }

    [Theory]
    [InlineData("/agents/reader", "invoices.read", null, CapabilityPermissions.Discover | CapabilityPermissions.Execute)]
    [InlineData("/agents/reader", "invoices.write", null, CapabilityPermissions.Discover)]
    [InlineData("/agents/billing", "invoices.write", null, CapabilityPermissions.Execute)]          // execute never implies discover
    [InlineData("/agents/billing", "invoices.write", "refunds", CapabilityPermissions.Execute)]
    [InlineData("/agents/billing", "invoices.write", "travel", CapabilityPermissions.None)]          // no rule for that purpose
    [InlineData("/agents/billing", "invoices.read", null, CapabilityPermissions.None)]
    [InlineData("/servers/invoices", "invoices.write", null, CapabilityPermissions.Publish)]        // publish implies nothing else
    [InlineData("/agents/namespaced", "invoices.read", null, CapabilityPermissions.None)]           // claim condition unmet
    [InlineData("/agents/unknown", "invoices.read", null, CapabilityPermissions.None)]              // deny by default
    public void Evaluate_PermissionsAreSeparate_AndPurposesLimitExecuteOnly(string path, string capability, string? purpose, CapabilityPermissions expected)
    {
        var tenant = Tenant();

        var access = CatalogAccess.Evaluate(tenant, tenant.Capabilities[capability], Svid(path), purpose);

        Assert.Equal(expected, access.Permissions);
    }

    [Fact]
    public void Evaluate_ClaimsMatch_AndPurposesAreReportedWhenExecuteIsLimited()
    {
        var tenant = Tenant();

        var namespaced = CatalogAccess.Evaluate(tenant, tenant.Capabilities["invoices.read"], Svid("/agents/namespaced", new Dictionary<string, IReadOnlyList<string>> { ["team"] = ["payments"] }));
        var billing = CatalogAccess.Evaluate(tenant, tenant.Capabilities["invoices.write"], Svid("/agents/billing"));
        var reader = CatalogAccess.Evaluate(tenant, tenant.Capabilities["invoices.read"], Svid("/agents/reader"));

        Assert.Equal(CapabilityPermissions.Discover | CapabilityPermissions.Execute, namespaced.Permissions);
        Assert.Equal(["audit", "billing", "refunds"], billing.Purposes);
        Assert.Null(reader.Purposes);
        Assert.True(reader.Has(CapabilityPermissions.Execute));
        Assert.False(reader.Has(CapabilityPermissions.None));
    }

    [Theory]
    [InlineData(false, false, DiscoveryMode.ListUnexecutable, CatalogVisibility.Hidden)]
    [InlineData(false, true, DiscoveryMode.ListUnexecutable, CatalogVisibility.Hidden)]       // executable but not discoverable: not listed
    [InlineData(true, true, DiscoveryMode.ListUnexecutable, CatalogVisibility.Executable)]
    [InlineData(true, true, DiscoveryMode.Hide, CatalogVisibility.Executable)]
    [InlineData(true, false, DiscoveryMode.ListUnexecutable, CatalogVisibility.ListedNotExecutable)]
    [InlineData(true, false, DiscoveryMode.Hide, CatalogVisibility.Hidden)]
    public void Visibility_IsTheOneListingRule(bool discover, bool execute, DiscoveryMode mode, CatalogVisibility expected) =>
        Assert.Equal(expected, CatalogAccess.Visibility(discover, execute, mode));

    [Theory]
    [InlineData(PublishingMode.Optional, false, true)]
    [InlineData(PublishingMode.Optional, true, true)]
    [InlineData(PublishingMode.Required, false, false)]
    [InlineData(PublishingMode.Required, true, true)]
    public void MayExecuteNow_NeedsPublicationOnlyWhereRequired(PublishingMode publishing, bool published, bool expected)
    {
        var settings = new CatalogSettings(publishing, DiscoveryMode.ListUnexecutable);

        Assert.Equal(expected, CatalogAccess.MayExecuteNow(settings, new CapabilityAccess(CapabilityPermissions.Execute, null), published));
        Assert.False(CatalogAccess.MayExecuteNow(settings, new CapabilityAccess(CapabilityPermissions.Discover | CapabilityPermissions.Publish, null), published));
    }
}
