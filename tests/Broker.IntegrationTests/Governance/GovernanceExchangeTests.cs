using System.Net;
using Broker.Grants;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Governance;

/// <summary>
/// Approval paths by caller and task limits through <c>POST /oauth2/token</c> on real Kestrel, with the grants in the
/// in-memory store and in a real redis-server (docs/policy.md, "Approval paths" and "Task limits").
/// </summary>
public abstract class GovernanceExchangeTests(GovernanceFixture fixture)
{
    private const string Agent = "/agents/coder";

    protected abstract Type StoreType { get; }

    private ExchangeFixture Exchange => fixture.Exchange;

    [Fact]
    public void Host_UsesTheStoreUnderTest() => Assert.IsType(StoreType, fixture.Store);

    // :: Task limits

    [Fact]
    public async Task ForbiddenPair_SecondHalfInTheSameTask_IsRefused_UntilTheFirstIsRevoked()
    {
        // Arrange
        var task = NewTask();
        var first = await ExchangeAsync(Svid(), "crm.read_all", task);
        Assert.Equal(HttpStatusCode.OK, first.Status);

        // Act
        var second = await ExchangeAsync(Svid(), "email.send_external", task);

        // Assert: refused with its own reason; another task may hold the other half, and once the first grant is
        // revoked the task no longer holds it.
        Assert.Equal(HttpStatusCode.BadRequest, second.Status);
        Assert.Equal("invalid_scope", second.Error);
        Assert.Contains("Policy forbids one task to hold these capabilities together", second.Body, StringComparison.Ordinal);
        await AssertAuditedAsync(task, "task.forbidden_combination");
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync(Svid(), "email.send_external", NewTask())).Status);
        Assert.IsType<Revoked>(await fixture.Store.RevokeAsync(new JsonWebToken(first.AccessToken).Id, "spiffe://acme.test/agents/coder", "done with the CRM", Ct));
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync(Svid(), "email.send_external", task)).Status);
    }

    [Fact]
    public async Task ForbiddenPair_BothHalvesInOneRequest_IsRefused()
    {
        var response = await ExchangeAsync(Svid(), "crm.read_all email.send_external", NewTask());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_scope", response.Error);
    }

    [Fact]
    public async Task ForbiddenPair_ConcurrentExchangesForBothHalves_AtMostOneSucceeds()
    {
        // Many rounds, each a task of its own, both requests in flight together on separate connections.
        for (var round = 0; round < 25; round++)
        {
            var task = NewTask();
            using var start = new ManualResetEventSlim();
            var racing = new[] { "crm.read_all", "email.send_external" }.Select(scope => Task.Run(async () =>
            {
                var form = ExchangeFixture.Request(Svid(), scope, GovernanceFixture.Resource);
                form["task_id"] = task;
                using var client = new HttpClient { BaseAddress = Exchange.Host.BaseAddress };
                using var content = new FormUrlEncodedContent(form);
                start.Wait(Ct);
                using var response = await client.PostAsync("/oauth2/token", content, Ct);
                return response.StatusCode;
            }, Ct)).ToArray();
            start.Set();
            var statuses = await Task.WhenAll(racing);

            Assert.Single(statuses, s => s == HttpStatusCode.OK);
            Assert.Single(statuses, s => s == HttpStatusCode.BadRequest);
            var page = await fixture.Store.ListAsync(GrantQuery.ForTask("acme", task), null, 10, Ct);
            Assert.Single(page.Grants);
        }
    }

    [Fact]
    public async Task MaxGrants_TheExchangePastTheLimit_IsRefused()
    {
        // Arrange
        var task = NewTask();
        for (var i = 0; i < GovernanceFixture.MaxGrants; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync(Svid(), "reports.read", task)).Status);
        }

        // Act
        var over = await ExchangeAsync(Svid(), "reports.read", task);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, over.Status);
        Assert.Equal("invalid_request", over.Error);
        await AssertAuditedAsync(task, "task.grant_limit");
        Assert.Equal(HttpStatusCode.OK, (await ExchangeAsync(Svid(), "reports.read", NewTask())).Status);
    }

    [Fact]
    public async Task MaxDuration_AnExchangeOnceItHasPassedSinceTheTasksFirstGrant_IsRefused()
    {
        // Arrange: globex tasks last at most two seconds.
        var task = NewTask();
        var form = ExchangeFixture.Request(Exchange.Globex.Svid("/agents/a"), "invoices.read", ExchangeFixture.GlobexInvoicesResource);
        form["task_id"] = task;
        Assert.Equal(HttpStatusCode.OK, (await Exchange.ExchangeAsync(form)).Status);

        // Act
        await Task.Delay(GovernanceFixture.MaxDuration + TimeSpan.FromMilliseconds(500), Ct);
        form["subject_token"] = Exchange.Globex.Svid("/agents/a");
        var late = await Exchange.ExchangeAsync(form);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, late.Status);
        Assert.Equal("invalid_request", late.Error);
        Assert.Contains(await fixture.Store.ReadAuditAsync("globex", 20, Ct), e => e.TaskId == task && e.Reason == "task.duration_exceeded");
    }

    // :: Approval paths

    [Fact]
    public async Task HumanPrincipalRequired_AutonomousAgentIsRefused_UserThroughTheAgentIsGranted()
    {
        // Act
        var alone = await ExchangeAsync(Svid(), "payments.refund", NewTask());
        var throughAgent = await ExchangeAsync(fixture.UserToken("alice"), "payments.refund", NewTask(), actor: Svid());

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, alone.Status);
        Assert.Equal("invalid_scope", alone.Error);
        Assert.Contains("needs a human principal", alone.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, throughAgent.Status);
        var token = new JsonWebToken(throughAgent.AccessToken);
        Assert.Equal("alice", token.Subject);
        Assert.Equal("spiffe://acme.test/agents/coder", token.GetPayloadValue<Dictionary<string, object>>("act")["sub"].ToString());
        Assert.Equal("hw", token.GetPayloadValue<string>("caller"));
    }

    [Fact]
    public async Task CallerClaim_AWorkloadForItself_IsW()
    {
        var response = await ExchangeAsync(Svid(), "reports.read", NewTask());

        Assert.Equal("w", new JsonWebToken(response.AccessToken).GetPayloadValue<string>("caller"));
    }

    [Fact]
    public async Task ChainDepth_ReExchangeAddingASecondActor_IsRefusedByTheCapabilitysMaxActors()
    {
        // Arrange: the user through an agent (one actor) may restart; the rule would let the orchestrator join.
        var task = NewTask();
        var first = await ExchangeAsync(fixture.UserToken("alice"), "ops.restart reports.read", task, actor: Svid());
        Assert.Equal(HttpStatusCode.OK, first.Status);

        // Act
        var deeper = await ExchangeAsync(first.AccessToken, "ops.restart", task, actor: Exchange.Acme.Svid("/orchestrator/main"));
        var deeperReports = await ExchangeAsync(first.AccessToken, "reports.read", task, actor: Exchange.Acme.Svid("/orchestrator/main"));

        // Assert: the kinds carry over a re-exchange ("hww"), and only the capability with max_actors refuses.
        Assert.Equal(HttpStatusCode.BadRequest, deeper.Status);
        Assert.Equal("unauthorized_client", deeper.Error);
        await AssertAuditedAsync(task, "policy.caller_chain_too_long");
        Assert.Equal(HttpStatusCode.OK, deeperReports.Status);
        Assert.Equal("hww", new JsonWebToken(deeperReports.AccessToken).GetPayloadValue<string>("caller"));
    }

    [Fact]
    public async Task ActorKinds_AUserActingForAnAgent_IsRefusedWhereOnlyWorkloadsMayAct_AndMakesTheCallNotAutonomous()
    {
        // Act
        var export = await ExchangeAsync(Svid(), "audit.export", NewTask(), actor: fixture.UserToken("alice"));
        var restart = await ExchangeAsync(Svid(), "ops.restart", NewTask(), actor: fixture.UserToken("alice"));
        var restartAlone = await ExchangeAsync(Svid(), "ops.restart", NewTask());

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, export.Status);
        Assert.Equal("unauthorized_client", export.Error);
        Assert.Equal(HttpStatusCode.OK, restart.Status);
        Assert.Equal("wh", new JsonWebToken(restart.AccessToken).GetPayloadValue<string>("caller"));
        Assert.Equal(HttpStatusCode.BadRequest, restartAlone.Status);
        Assert.Contains("not granted to autonomous callers", restartAlone.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PurposeRequired_AJwtBearerGrantWithoutAPurpose_IsRefused()
    {
        // Arrange
        var without = ExchangeFixture.JwtBearerRequest(Svid(), "audit.export", GovernanceFixture.Resource);
        var with = ExchangeFixture.JwtBearerRequest(Svid(), "audit.export", GovernanceFixture.Resource);
        with["purpose"] = "quarterly-audit";

        // Act
        var refused = await Exchange.ExchangeAsync(without);
        var granted = await Exchange.ExchangeAsync(with);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("invalid_request", refused.Error);
        Assert.Contains("requires a purpose", refused.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, granted.Status);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewTask() => "task-" + Guid.NewGuid().ToString("N");

    private string Svid() => Exchange.Acme.Svid(Agent);

    private async Task<ExchangeResponse> ExchangeAsync(string subject, string scope, string task, string? actor = null)
    {
        var form = ExchangeFixture.Request(subject, scope, GovernanceFixture.Resource);
        form["task_id"] = task;
        if (actor is not null)
        {
            form["actor_token"] = actor;
            form["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        }

        return await Exchange.ExchangeAsync(form);
    }

    private async Task AssertAuditedAsync(string task, string reason)
    {
        var events = await fixture.Store.ReadAuditAsync("acme", 200, Ct);
        Assert.Contains(events, e => e.TaskId == task && e.Reason == reason);
    }
}

/// <summary>On the in-memory grant store.</summary>
public sealed class InMemoryGovernanceExchangeTests(InMemoryGovernanceFixture fixture)
    : GovernanceExchangeTests(fixture), IClassFixture<InMemoryGovernanceFixture>
{
    protected override Type StoreType => typeof(InMemoryGrantStore);
}

/// <summary>On a real redis-server.</summary>
public sealed class RedisGovernanceExchangeTests(RedisGovernanceFixture fixture)
    : GovernanceExchangeTests(fixture), IClassFixture<RedisGovernanceFixture>
{
    protected override Type StoreType => typeof(RedisGrantStore);
}
