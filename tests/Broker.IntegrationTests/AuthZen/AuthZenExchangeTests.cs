using System.Net;
using System.Text.Json.Nodes;
using Broker.Audit;
using Broker.Errors;

namespace Broker.IntegrationTests.AuthZen;

/// <summary>
/// Rules that delegate to an external decision point (OpenID AuthZEN 1.0) at the token endpoint, against a real
/// decision point process: what it is asked, permit and deny, local rules that need no decision point, and every way a
/// decision point can fail to decide, each refused (fail closed) and audited with its own reason.
/// </summary>
public sealed class AuthZenExchangeTests(AuthZenFixture fixture) : IClassFixture<AuthZenFixture>
{
    private const string Reader = "/agents/reader";

    [Fact]
    public async Task DelegatedRule_DecisionPointPermits_TokenIssued_AfterOneEvaluationOfTheWholeRequest()
    {
        // Arrange
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "invoices.read", task);

        // Assert: the token, and exactly one evaluation carrying the request (AuthZEN 1.0 §5, §6.1).
        Assert.True(response.Status == HttpStatusCode.OK, response.Body);
        var call = Assert.Single(await CallsAsync(task));
        Assert.Equal(true, (bool?)call["authorized"]);
        Assert.Matches("^[0-9a-f]{32}$", (string?)call["request_id"]);
        var expected = JsonNode.Parse($$"""
            {
              "subject": {
                "type": "workload",
                "id": "spiffe://acme.test/agents/reader",
                "properties": { "tenant": "acme", "credential": "jwt_svid", "identity_source": "acme.test", "sender_constrained": false }
              },
              "action": { "name": "execute" },
              "resource": {
                "type": "capability",
                "id": "invoices.read",
                "properties": {
                  "tenant": "acme",
                  "resource_uri": "https://mcp.acme.test/invoices",
                  "audience": "https://mcp.acme.test/invoices",
                  "tools": ["list_invoices", "get_invoice"]
                }
              },
              "context": {
                "purpose": "billing",
                "task_id": "{{task}}",
                "actor_chain": [],
                "requested_capabilities": ["invoices.read"],
                "rule": "agents read and write invoices when the decision point agrees",
                "policy_version": "{{Allowed(task).PolicyVersion}}"
              }
            }
            """);
        Assert.True(JsonNode.DeepEquals(expected, call["body"]), call["body"]!.ToJsonString());
    }

    [Fact]
    public async Task DelegatedRule_DecisionPointDenies_InvalidScope_AuditedAsAuthZenDenied()
    {
        // Arrange
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/agents/denied", "invoices.read", task);

        // Assert
        AssertRefused(response, ErrorCatalog.AuthZenDenied, task);
        Assert.Single(await CallsAsync(task));
    }

    [Fact]
    public async Task TwoDelegatedCapabilities_OneDenied_NothingIssued_BothEvaluated()
    {
        // Arrange: the decision point permits invoices.read to the reader and denies it invoices.write.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "invoices.read invoices.write", task);

        // Assert: no partial grant.
        AssertRefused(response, ErrorCatalog.AuthZenDenied, task);
        Assert.Equal(["invoices.read", "invoices.write"], (await CallsAsync(task)).Select(c => (string?)c["body"]!["resource"]!["id"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task DelegatedRuleWithAnActor_TheChainIsInTheContext()
    {
        // Arrange
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/agents/writer", "invoices.write", task, actor: AuthZenFixture.Orchestrator);

        // Assert
        Assert.True(response.Status == HttpStatusCode.OK, response.Body);
        var call = Assert.Single(await CallsAsync(task));
        Assert.Equal([AuthZenFixture.Orchestrator], call["body"]!["context"]!["actor_chain"]!.AsArray().Select(a => (string?)a));
        Assert.Equal("the writer writes through the orchestrator when the decision point agrees", (string?)call["body"]!["context"]!["rule"]);
    }

    [Fact]
    public async Task LocalRuleAllowsToo_NoDecisionPointAsked()
    {
        // Arrange: the auditor matches a delegating rule and one that decides alone; rules are allow rules.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/agents/auditor", "invoices.read", task);

        // Assert
        Assert.True(response.Status == HttpStatusCode.OK, response.Body);
        Assert.Empty(await CallsAsync(task));
    }

    [Fact]
    public async Task NotAllowedLocally_DecisionPointNeverAsked()
    {
        // Arrange: no rule lets a workload outside agents/ read invoices.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/tools/indexer", "invoices.read", task);

        // Assert: deny by default before any call.
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_scope", response.Error);
        Assert.Equal("policy.scope_not_allowed", Audit(task).Reason);
        Assert.Empty(await CallsAsync(task));
    }

    [Fact]
    public async Task UndelegatedCapability_DecisionPointNeverAsked()
    {
        // Arrange
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "crm.read", task);

        // Assert
        Assert.True(response.Status == HttpStatusCode.OK, response.Body);
        Assert.Empty(await CallsAsync(task));
    }

    [Fact]
    public async Task DecisionPointDown_Unavailable_AuditedAsAuthZenUnavailable()
    {
        // Arrange: nothing listens at the "down" decision point's URL.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "vault.read", task);

        // Assert: fail closed.
        AssertRefused(response, ErrorCatalog.AuthZenUnavailable, task);
    }

    [Fact]
    public async Task DecisionPointNeverAnswers_RefusedOnTheDecisionPointsTimeout()
    {
        // Arrange: the decision point receives the evaluation and never answers it; the broker's 10 s timeout is the
        // only way this exchange can end.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/agents/slow", "invoices.read", task);

        // Assert
        AssertRefused(response, ErrorCatalog.AuthZenUnavailable, task);
        Assert.Single(await CallsAsync(task));
    }

    public static TheoryData<string> MalformedAnswers => [.. AuthZenFixture.MalformedAnswers.Select(a => a.Name)];

    [Theory]
    [MemberData(nameof(MalformedAnswers))]
    public async Task DecisionPointAnswersWithoutAValidDecision_Unavailable(string answer)
    {
        // Arrange
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync("/agents/" + AuthZenFixture.Slug(answer), "invoices.read", task);

        // Assert: never read as a permit.
        AssertRefused(response, ErrorCatalog.AuthZenUnavailable, task);
        Assert.Single(await CallsAsync(task));
    }

    [Fact]
    public async Task DecisionPointRefusesTheBrokersCredential_Unavailable()
    {
        // Arrange: "wrong-credential" sends the secret file other-token, which the decision point does not accept (401).
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "audit.read", task);

        // Assert
        AssertRefused(response, ErrorCatalog.AuthZenUnavailable, task);
        Assert.Equal(false, (bool?)Assert.Single(await CallsAsync(task))["authorized"]);
    }

    [Fact]
    public async Task SecretFileMissing_Unavailable_NothingSent()
    {
        // Arrange: "no-secret" names a file the secrets directory lacks; the broker never calls without its credential.
        var task = NewTask();

        // Act
        var response = await fixture.ExchangeAsync(Reader, "secrets.read", task);

        // Assert
        AssertRefused(response, ErrorCatalog.AuthZenUnavailable, task);
        Assert.Empty(await CallsAsync(task));
    }

    [Fact]
    public async Task CachingDecisionPoint_TheSameEvaluationTwice_AskedOnce_AnotherTaskAskedAgain_DenialsCachedToo()
    {
        // Arrange: "cached" keeps decisions for 5 minutes, keyed on the whole evaluation request.
        var task = NewTask();
        var other = NewTask();

        // Act
        var first = await fixture.ExchangeAsync(Reader, "reports.read", task);
        var second = await fixture.ExchangeAsync(Reader, "reports.read", task);
        var otherTask = await fixture.ExchangeAsync(Reader, "reports.read", other);
        var deniedFirst = await fixture.ExchangeAsync("/agents/denied", "reports.read", task);
        var deniedSecond = await fixture.ExchangeAsync("/agents/denied", "reports.read", task);

        // Assert
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], new[] { first.Status, second.Status, otherTask.Status });
        Assert.Equal(["invalid_scope", "invalid_scope"], new[] { deniedFirst.Error, deniedSecond.Error });
        Assert.Equal(2, (await CallsAsync(task)).Count);
        Assert.Single(await CallsAsync(other));
    }

    [Fact]
    public async Task UncachedDecisionPoint_TheSameEvaluationTwice_AskedTwice()
    {
        // Arrange
        var task = NewTask();

        // Act
        var first = await fixture.ExchangeAsync(Reader, "invoices.read", task);
        var second = await fixture.ExchangeAsync(Reader, "invoices.read", task);

        // Assert: no cache_ttl, no cache.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], new[] { first.Status, second.Status });
        Assert.Equal(2, (await CallsAsync(task)).Count);
    }

    private static string NewTask() => "authzen-" + Guid.NewGuid().ToString("N");

    private async Task<IReadOnlyList<JsonObject>> CallsAsync(string task) =>
        [.. (await fixture.Pdp.CallsAsync()).Where(c => (string?)c["body"]?["context"]?["task_id"] == task)];

    private AuditEvent Audit(string task) =>
        Assert.Single(fixture.Host.AuditTrail, e => e.TaskId == task && e.Outcome == AuditOutcome.Denied);

    private AuditEvent Allowed(string task) =>
        Assert.Single(fixture.Host.AuditTrail, e => e.TaskId == task && e.Outcome == AuditOutcome.Allowed);

    private void AssertRefused(Exchange.ExchangeResponse response, ErrorDescriptor expected, string task)
    {
        Assert.True((int)response.Status == expected.StatusCode, $"HTTP {(int)response.Status}: {response.Body}");
        Assert.Equal(expected.Error, response.Error);
        Assert.Equal(expected.Description, response.Json.GetProperty("error_description").GetString());
        if (expected.StatusCode == 503)
        {
            Assert.Equal("1", response.RetryAfter);
        }

        var audit = Audit(task);
        Assert.Equal(expected.Reason, audit.Reason);
        Assert.Equal(AuthZenFixture.Tenant, audit.Tenant);
        Assert.False(string.IsNullOrEmpty(audit.PolicyVersion));
        Assert.DoesNotContain(fixture.Host.AuditTrail, e => e.TaskId == task && e.Outcome == AuditOutcome.Allowed);
    }
}
