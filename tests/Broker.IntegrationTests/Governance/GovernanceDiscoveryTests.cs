using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;

namespace Broker.IntegrationTests.Governance;

/// <summary>
/// Discovery and the token endpoint agree on callers: <c>GET /catalog/v1/capabilities</c> says "executable" for exactly
/// the capabilities the token endpoint then issues to the same caller, and tells a caller that <c>caller:</c> conditions
/// refuse why, with the reason code the token endpoint gives (docs/catalog.md, docs/policy.md "Approval paths").
/// </summary>
public sealed class GovernanceDiscoveryTests(InMemoryGovernanceFixture fixture) : IClassFixture<InMemoryGovernanceFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Token(string caller) => caller == "agent" ? fixture.Exchange.Acme.Svid("/agents/coder") : fixture.UserToken(caller);

    private async Task<JsonElement> DiscoverAsync(string token, string? purpose)
    {
        var query = "?resource=" + Uri.EscapeDataString(GovernanceFixture.Resource) + (purpose is null ? "" : "&purpose=" + purpose);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/catalog/v1/capabilities" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await fixture.Exchange.Host.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("alice")]
    public async Task Discovery_SaysExecutable_ExactlyWhenTheTokenEndpointIssues(string caller)
    {
        // Arrange
        var discovered = await DiscoverAsync(Token(caller), "billing");
        var listed = discovered.GetProperty("capabilities").EnumerateArray().ToList();
        Assert.Equal(6, listed.Count);

        foreach (var capability in listed)
        {
            // Act: the same caller asks for it, in a task of its own, for the same purpose.
            var name = capability.GetProperty("name").GetString()!;
            var task = "disc-" + Guid.NewGuid().ToString("N");
            var form = ExchangeFixture.Request(Token(caller), name, GovernanceFixture.Resource);
            form["task_id"] = task;
            var exchange = await fixture.Exchange.ExchangeAsync(form);

            // Assert
            var executable = capability.GetProperty("executable").GetBoolean();
            Assert.True(executable == (exchange.Status == HttpStatusCode.OK), $"{caller} / {name}: discovery {capability}, token endpoint {exchange.Status} {exchange.Body}");
            if (!executable && capability.GetProperty("reason").GetString() is var reason and not ("not_permitted" or "not_published"))
            {
                var audit = await fixture.Store.ReadAuditAsync("acme", 500, Ct);
                Assert.Contains(audit, e => e.TaskId == task && e.Reason == "policy." + reason);
            }

            if (executable)
            {
                // The tenant limits grants per task: the token endpoint may still refuse on the task's other grants.
                Assert.Contains("task_limits", capability.GetProperty("conditional").EnumerateArray().Select(c => c.GetString()));
            }
        }
    }

    [Fact]
    public async Task Discovery_AgentAlone_IsToldWhyNotExecutable()
    {
        // Act
        var discovered = await DiscoverAsync(Token("agent"), null);
        var byName = discovered.GetProperty("capabilities").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);

        // Assert: refunds need a human subject, restarts a human in the chain; audit.export needs a purpose declared.
        Assert.False(byName["payments.refund"].GetProperty("executable").GetBoolean());
        Assert.Equal("human_principal_required", byName["payments.refund"].GetProperty("reason").GetString());
        Assert.Equal("autonomous_caller", byName["ops.restart"].GetProperty("reason").GetString());
        Assert.True(byName["audit.export"].GetProperty("executable").GetBoolean());
        Assert.Equal(["purpose", "task_limits"], byName["audit.export"].GetProperty("conditional").EnumerateArray().Select(c => c.GetString()));
        Assert.True(byName["reports.read"].GetProperty("executable").GetBoolean());
    }

    [Fact]
    public async Task Discovery_HumanAlone_MayExecuteWhatTheAgentMayNot()
    {
        var discovered = await DiscoverAsync(Token("alice"), "billing");
        var byName = discovered.GetProperty("capabilities").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);

        Assert.True(byName["payments.refund"].GetProperty("executable").GetBoolean());
        Assert.True(byName["ops.restart"].GetProperty("executable").GetBoolean());
        Assert.Equal("not_permitted", byName["audit.export"].GetProperty("reason").GetString());
    }
}
