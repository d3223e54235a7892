using System.Net;
using System.Text.Json;
using Broker.IntegrationTests.Catalog;

namespace Broker.Cli.Tests.EndToEnd;

/// <summary>
/// <c>brokerctl review</c> against a real broker on loopback: the counts of the grants made, as a table, as the broker's
/// JSON and as an HTML page written to a file, where a publisher's hostile tool description stays text; and the
/// refusals with their exit codes.
/// </summary>
public sealed class BrokerctlReviewTests : IAsyncLifetime
{
    private const string Hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
    private const string Admin = "/admins/alice";
    private readonly CatalogFixture _fixture = new();

    public ValueTask InitializeAsync() => new(_fixture.StartAsync(s => s["Broker:Review:FlushInterval"] = "00:05:00"));

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

    private async Task MakeGrantsAsync()
    {
        var body = JsonSerializer.Serialize(new
        {
            tools = new[]
            {
                new { name = "list_invoices", capability = "invoices.read", title = Hostile, description = Hostile, input_schema_sha256 = new string('0', 63) + "1" },
            },
        });
        Assert.Equal(HttpStatusCode.Created, (await _fixture.PublishAsync(CatalogFixture.InvoicesServer, CatalogFixture.Invoices, body)).Status);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync(CatalogFixture.Reader, "invoices.read", CatalogFixture.Invoices)).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync(CatalogFixture.Runner, "invoices.read", CatalogFixture.Invoices)).Status);
        await _fixture.FlushUsageAsync();
    }

    [Fact]
    public async Task Review_Table_Json_AndHtmlFile_ShowTheGrantsMade()
    {
        // Arrange
        await MakeGrantsAsync();
        var file = Path.Combine(_fixture.Directory.Path, "review.html");

        // Act
        var (tableExit, table, tableErr) = await RunAsync(Admin, "review", "--tenant", "acme", "--days", "7");
        var (jsonExit, json, _) = await RunAsync(Admin, "review", "--tenant", "acme", "--format", "json");
        var (htmlExit, htmlOut, _) = await RunAsync(Admin, "review", "--tenant", "acme", "--format", "html", "--output", file);

        // Assert: the table.
        Assert.True(tableExit == 0, tableErr);
        Assert.Contains("tenant acme, 7 days", table, StringComparison.Ordinal);
        Assert.Contains("4 grants counted", table, StringComparison.Ordinal);
        Assert.Contains("crm.read", table, StringComparison.Ordinal);
        Assert.Contains("Unused entitlements", table, StringComparison.Ordinal);

        // Assert: the broker's JSON, as it sent it.
        Assert.Equal(0, jsonExit);
        using (var document = JsonDocument.Parse(json))
        {
            var read = document.RootElement.GetProperty("capabilities").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "invoices.read");
            Assert.Equal(4, read.GetProperty("grants").GetInt64());
            Assert.Equal(
                [("spiffe://acme.test/agents/reader", 3L), ("spiffe://acme.test/agents/runner", 1L)],
                read.GetProperty("used_by").EnumerateArray().Select(u => (u.GetProperty("identity").GetString(), u.GetProperty("grants").GetInt64())));
        }

        // Assert: the HTML file: one page, no script, the hostile text encoded.
        Assert.Equal(0, htmlExit);
        Assert.Contains(file, htmlOut, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("spiffe://acme.test/agents/reader", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_Refusals_ExitAsDocumented()
    {
        // Not an admin: exit 3. Another tenant: exit 3. Bad arguments: exit 2, nothing sent.
        Assert.Equal(3, (await RunAsync(CatalogFixture.Reader, "review", "--tenant", "acme")).Exit);
        Assert.Equal(3, (await RunAsync(Admin, "review", "--tenant", "globex")).Exit);
        Assert.Equal(2, (await RunAsync(Admin, "review", "--tenant", "acme", "--days", "0")).Exit);
        Assert.Equal(2, (await RunAsync(Admin, "review", "--tenant", "acme", "--days", "91")).Exit);
        Assert.Equal(2, (await RunAsync(Admin, "review", "--tenant", "acme", "--format", "pdf")).Exit);
        Assert.Equal(2, (await RunAsync(Admin, "review")).Exit);
    }
}
