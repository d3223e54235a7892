using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Contracts.Admin;
using Broker.IntegrationTests.Exchange;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Cli.Tests.EndToEnd;

/// <summary>brokerctl against a real broker on loopback: an admin lists grants and revokes one by ID.</summary>
public sealed class BrokerctlAgainstBrokerTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    public ValueTask InitializeAsync() => _fixture.InitializeAsync();

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    private async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var admin = _fixture.Acme.Svid("/admins/alice");
        string[] global = ["--broker", _fixture.Host.BaseAddress.ToString().TrimEnd('/'), "--token", admin];
        var exit = await Program.RunAsync([.. args, .. global], stdout, stderr);
        Assert.DoesNotContain(admin, stdout.ToString() + stderr, StringComparison.Ordinal);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Admin_ListsGrantsAndRevokesOne_IntrospectionSaysInactiveOnTheNextRequest()
    {
        // Arrange: two grants of one task.
        var task = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var tokens = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var form = ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"));
            form["task_id"] = task;
            var response = await _fixture.ExchangeAsync(form);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            tokens.Add(response.AccessToken);
        }

        var grantId = new JsonWebToken(tokens[0]).Id;

        // Act + Assert: list (human and JSON).
        var (listExit, listOut, _) = await RunAsync("grants", "list", "--tenant", "acme", "--task", task);
        Assert.Equal(0, listExit);
        Assert.Contains(grantId, listOut, StringComparison.Ordinal);
        var (jsonExit, jsonOut, _) = await RunAsync("grants", "list", "--tenant", "acme", "--task", task, "--json", "--all");
        Assert.Equal(0, jsonExit);
        using (var listed = JsonDocument.Parse(jsonOut))
        {
            Assert.Equal(2, listed.RootElement.GetProperty("grants").GetArrayLength());
        }

        // Revoke one by ID, then introspection says inactive on the very next request.
        var (revokeExit, _, revokeErr) = await RunAsync("grants", "revoke", grantId, "--reason", "compromised agent");
        Assert.True(revokeExit == 0, revokeErr);
        Assert.False(await IsActiveAsync(tokens[0]));
        Assert.True(await IsActiveAsync(tokens[1]));

        var (showExit, showOut, _) = await RunAsync("grants", "show", grantId, "--json");
        Assert.Equal(0, showExit);
        using var shown = JsonDocument.Parse(showOut);
        Assert.Equal("revoked", shown.RootElement.GetProperty("status").GetString());

        // Another tenant's admin cannot see or revoke it; an unknown grant is exit 1.
        Assert.Equal(1, (await RunAsync("grants", "show", "AAAAAAAAAAAAAAAAAAAAAA")).Exit);

        var (auditExit, auditOut, _) = await RunAsync("audit", "tail", "--tenant", "acme", "--limit", "20");
        Assert.Equal(0, auditExit);
        Assert.Contains("grant.revoked", auditOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrantView_AsTheBrokerWritesIt_ReadsBackThroughBrokerctlsModel_ByteForByte()
    {
        // Arrange: a revoked grant, so the view carries its revocation too.
        var task = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var form = ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"));
        form["task_id"] = task;
        var exchange = await _fixture.ExchangeAsync(form);
        Assert.Equal(HttpStatusCode.OK, exchange.Status);
        var grantId = new JsonWebToken(exchange.AccessToken).Id;
        Assert.Equal(0, (await RunAsync("grants", "revoke", grantId, "--reason", "round trip")).Exit);

        // Act: the broker's body exactly as received (--json), then read with the model brokerctl reads it with.
        var (exit, body, _) = await RunAsync("grants", "show", grantId, "--json");
        var written = body.Trim();
        var read = JsonSerializer.Deserialize(written, AdminApiJsonContext.Default.GrantView)!;
        var (_, shown, _) = await RunAsync("grants", "show", grantId);

        // Assert
        Assert.Equal(0, exit);
        Assert.Equal(written, JsonSerializer.Serialize(read, AdminApiJsonContext.Default.GrantView));
        Assert.Equal((grantId, "acme", task, "revoked"), (read.GrantId, read.Tenant, read.TaskId, read.Status));
        Assert.Equal("round trip", read.Revocation?.Reason);
        Assert.Contains($"task_id          {task}", shown, StringComparison.Ordinal);
        Assert.Contains("reason           round trip", shown, StringComparison.Ordinal);
    }

    private async Task<bool> IsActiveAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/mcp/invoices"));
        using var response = await _fixture.Host.Client.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }
}
