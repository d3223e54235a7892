using System.Text.Json;
using Broker.IntegrationTests.Catalog;

namespace Broker.Cli.Tests.EndToEnd;

/// <summary>
/// <c>brokerctl catalog</c> against a real broker on loopback whose tenant requires publication: a server publishes,
/// an agent lists what it may discover, the publisher shows and unpublishes, and the refusals exit as documented.
/// </summary>
public sealed class BrokerctlCatalogTests : IAsyncLifetime
{
    private readonly CatalogFixture _fixture = new();

    public ValueTask InitializeAsync() => new(_fixture.StartAsync());

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    private async Task<(int Exit, string Out, string Err)> RunAsync(string workload, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var token = _fixture.Acme.Svid(workload);
        string[] global = ["--broker", _fixture.Host.BaseAddress.ToString().TrimEnd('/'), "--token", token];
        var exit = await Program.RunAsync([.. args, .. global], stdout, stderr);
        Assert.DoesNotContain(token, stdout.ToString() + stderr, StringComparison.Ordinal);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task PublishListShowUnpublish_EndToEnd()
    {
        // Arrange: the publication file a server's operator would write.
        var file = _fixture.Directory.Write("invoices-tools.json", CatalogFixture.Body(("list_invoices", "invoices.read"), ("create_invoice", "invoices.write")));

        // :: Before publication: the reader may discover invoices.read, but cannot execute it yet.
        var (beforeExit, beforeOut, _) = await RunAsync(CatalogFixture.Reader, "catalog", "list", "--resource", CatalogFixture.Invoices);
        Assert.Equal(0, beforeExit);
        Assert.Contains("publishing: required", beforeOut, StringComparison.Ordinal);
        Assert.Contains("no (not_published)", beforeOut, StringComparison.Ordinal);

        // :: Publish: version 1, the diff printed.
        var (publishExit, publishOut, publishErr) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "publish", CatalogFixture.Invoices, "--file", file);
        Assert.True(publishExit == 0, publishErr);
        Assert.Contains("Published 2 tools on https://mcp.acme.test/invoices: version 1.", publishOut, StringComparison.Ordinal);
        Assert.Contains("invoices.read/list_invoices", publishOut, StringComparison.Ordinal);

        // :: List as JSON: invoices.read now executable, invoices.write discoverable but not permitted.
        var (listExit, listOut, _) = await RunAsync(CatalogFixture.Reader, "catalog", "list", "--json");
        Assert.Equal(0, listExit);
        using (var listed = JsonDocument.Parse(listOut))
        {
            var capabilities = listed.RootElement.GetProperty("capabilities").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
            Assert.True(capabilities["invoices.read"].GetProperty("executable").GetBoolean());
            Assert.Equal("not_permitted", capabilities["invoices.write"].GetProperty("reason").GetString());
        }

        // :: Show: the publisher and both tools.
        var (showExit, showOut, _) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "show", CatalogFixture.Invoices);
        Assert.Equal(0, showExit);
        Assert.Contains("spiffe://acme.test/servers/invoices", showOut, StringComparison.Ordinal);
        Assert.Contains("create_invoice", showOut, StringComparison.Ordinal);

        // :: A stale --if-match is refused (exit 1); the right one unpublishes.
        Assert.Equal(1, (await RunAsync(CatalogFixture.InvoicesServer, "catalog", "unpublish", CatalogFixture.Invoices, "--if-match", "7")).Exit);
        var (unpublishExit, unpublishOut, _) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "unpublish", CatalogFixture.Invoices, "--if-match", "1");
        Assert.Equal(0, unpublishExit);
        Assert.Contains("version 2; withdrawn: invoices.read, invoices.write.", unpublishOut, StringComparison.Ordinal);

        // :: Nothing to show any more: exit 1.
        Assert.Equal(1, (await RunAsync(CatalogFixture.InvoicesServer, "catalog", "show", CatalogFixture.Invoices)).Exit);
    }

    [Fact]
    public async Task Publish_WithoutPublishPermission_ExitsNotAuthorized_AndBadInputIsRefused()
    {
        var file = _fixture.Directory.Write("tools.json", CatalogFixture.Body(("list_invoices", "invoices.read")));
        var outside = _fixture.Directory.Write("outside.json", CatalogFixture.Body(("delete_invoice", "invoices.read")));

        var (forbiddenExit, _, forbiddenErr) = await RunAsync(CatalogFixture.Reader, "catalog", "publish", CatalogFixture.Invoices, "--file", file);
        var (badExit, _, badErr) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "publish", CatalogFixture.Invoices, "--file", outside);
        var (usageExit, _, _) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "publish", "not a uri", "--file", file);
        var (missingExit, _, _) = await RunAsync(CatalogFixture.InvoicesServer, "catalog", "publish", CatalogFixture.Invoices, "--file", Path.Combine(_fixture.Directory.Path, "nope.json"));

        Assert.Equal(3, forbiddenExit);
        Assert.Contains("insufficient_scope", forbiddenErr, StringComparison.Ordinal);
        Assert.Equal(1, badExit);
        Assert.Contains("tools' list in policy", badErr, StringComparison.Ordinal);
        Assert.Equal(2, usageExit);
        Assert.Equal(2, missingExit);
    }
}
