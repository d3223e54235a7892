using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Broker.Audit;
using Broker.IntegrationTests.DPoP;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Keys;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.RevocationFeed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Telemetry;

/// <summary>
/// Each of the broker's instruments fires, with the right tags, when real requests go through real Kestrel: read with
/// a <see cref="System.Diagnostics.Metrics.MeterListener"/> bound to the broker under test's own meters.
/// </summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();
    private MetricCapture? _metrics;

    private MetricCapture Metrics => _metrics!;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _metrics?.Dispose();
        await _fixture.DisposeAsync();
    }

    private async Task StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        _fixture.Configure = configure;
        await _fixture.InitializeAsync();
        _metrics = new MetricCapture(_fixture.Host.Services);
    }

    [Fact]
    public async Task Exchange_Issued_CountsTheRequestAndMeasuresDecisionStoreAndDuration()
    {
        // Arrange
        await StartAsync();

        // Act
        var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var request = Assert.Single(Metrics.Of("broker.exchange.requests"));
        Assert.Equal(1, request.Value);
        Assert.Equal("{request}", request.Unit);
        Assert.Equal(new Dictionary<string, string?> { ["broker.exchange.outcome"] = "issued", ["broker.tenant"] = "acme" }, request.Tags);
        var duration = Assert.Single(Metrics.Of("broker.exchange.duration"));
        Assert.Equal("s", duration.Unit);
        Assert.Equal("issued", duration.Tags["broker.exchange.outcome"]);
        Assert.InRange(duration.Value, double.Epsilon, 60);
        var decision = Assert.Single(Metrics.Of("broker.policy.decision.duration"));
        Assert.Equal("allowed", decision.Tags["broker.policy.decision"]);
        var record = Assert.Single(Metrics.Of("broker.grant_store.operation.duration"), m => m.Tags["db.operation.name"] == "record");
        Assert.Equal("memory", record.Tags["db.system.name"]);
        Assert.False(record.Tags.ContainsKey("error.type"));
        Assert.Empty(Metrics.Of("broker.grant_store.errors"));
    }

    [Fact]
    public async Task Exchange_Refused_CountsOutcomeErrorAndTheReasonTheAuditRecords()
    {
        // Arrange: a scope policy does not grant this subject, and a token signed by a key nobody trusts.
        await StartAsync();
        var stranger = new Broker.IntegrationTests.Infrastructure.TestSpiffeAuthority("acme.test", Path.Combine(_fixture.Directory.Path, "stranger.json"));

        // Act
        var denied = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"), scope: "invoices.write"));
        var forged = await _fixture.ExchangeAsync(ExchangeFixture.Request(stranger.Svid("/agents/reader")));

        // Assert: one count per request, tagged as the audit trail records it.
        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (denied.Status, forged.Status));
        var events = _fixture.Host.AuditTrail.Where(e => e.Type == AuditEventTypes.TokenExchange).ToList();
        Assert.Equal(2, events.Count);
        var requests = Metrics.Of("broker.exchange.requests");
        Assert.Equal(2, requests.Count);
        foreach (var auditEvent in events)
        {
            var count = Assert.Single(requests, m => m.Tags["broker.exchange.reason"] == auditEvent.Reason);
            Assert.Equal("refused", count.Tags["broker.exchange.outcome"]);
            Assert.Equal(auditEvent.Error, count.Tags["broker.exchange.error"]);
            Assert.Equal(auditEvent.Tenant, count.Tags.GetValueOrDefault("broker.tenant"));
        }

        // The policy's refusal names its tenant; the forged token never reached one.
        Assert.Equal("acme", Assert.Single(requests, m => m.Tags.ContainsKey("broker.tenant")).Tags["broker.tenant"]);
        Assert.Equal("denied", Assert.Single(Metrics.Of("broker.policy.decision.duration")).Tags["broker.policy.decision"]);
    }

    [Fact]
    public async Task Revoke_ParentWithChild_CountsTheGrantAndItsDescendant_AndTheFeedReportsConnectionEventAndLag()
    {
        // Arrange: a grant, narrowed once; a verifier connected to the feed.
        await StartAsync(s => s.Configure<RevocationFeedOptions>(o => o.FeedHeartbeat = TimeSpan.FromMilliseconds(200)));
        var parent = await DerivedGrantRevocationTests.IssueAsync(_fixture);
        await DerivedGrantRevocationTests.ReExchangeAsync(_fixture, parent);
        using var feedRequest = new HttpRequestMessage(HttpMethod.Get, "/revocations/v1/events");
        feedRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/mcp/invoices"));
        feedRequest.Headers.Accept.ParseAdd("text/event-stream");
        using var feed = await _fixture.Host.Client.SendAsync(feedRequest, HttpCompletionOption.ResponseHeadersRead);
        using var events = new Broker.IntegrationTests.RevocationFeed.SseReader(await feed.Content.ReadAsStreamAsync());
        Assert.NotNull(await events.ReadAsync());
        await events.NextEventAsync(skipReady: false);
        var connected = Metrics.Of("broker.revocation_feed.connections");

        // Act
        using var revoke = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{new JsonWebToken(parent).Id}/revoke") { Content = JsonContent.Create(new { reason = "telemetry test" }) };
        revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/admins/alice"));
        using var revoked = await _fixture.Host.Client.SendAsync(revoke);
        await events.NextEventAsync();
        await events.NextEventAsync();

        // Assert
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal(1, Metrics.Sum("broker.revocations", ("broker.revocation.scope", "grant"), ("db.system.name", "memory")));
        Assert.Equal(1, Metrics.Sum("broker.revocations", ("broker.revocation.scope", "descendant")));
        Assert.Equal(1, Assert.Single(connected).Value);
        Assert.Equal(2, Metrics.Sum("broker.revocation_feed.events", ("broker.revocation_feed.event", "revoked")));
        var lags = Metrics.Of("broker.revocation_feed.lag");
        Assert.Equal(2, lags.Count);
        Assert.All(lags, l => Assert.InRange(l.Value, 0, 60));
    }

    [Fact]
    public async Task FeedConnection_OverTheLimit_IsCountedAsRefused()
    {
        await StartAsync(s => s.Configure<RevocationFeedOptions>(o => o.FeedMaxConnections = 1));
        using var first = await OpenFeedAsync();
        using var second = await OpenFeedAsync();

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable), (first.StatusCode, second.StatusCode));
        Assert.Equal(1, Metrics.Sum("broker.revocation_feed.connections.refused"));
        Assert.Equal(1, Metrics.Of("broker.revocation_feed.connections")[^1].Value);
    }

    [Fact]
    public async Task PolicyReload_CountsLoadedUnchangedAndRejected()
    {
        // Arrange
        await StartAsync();
        var provider = _fixture.Host.Services.GetRequiredService<IPolicyProvider>();
        var file = Path.Combine(_fixture.Directory.Path, "policy", "globex.yaml");
        var original = await File.ReadAllTextAsync(file);

        // Act: the same files, an edit, a broken edit.
        provider.Reload();
        await File.WriteAllTextAsync(file, original + "\n# an edit\n");
        provider.Reload();
        await File.WriteAllTextAsync(file, original + "\nnot: [valid\n");
        provider.Reload();

        // Assert (the file watcher may reload too: at least the three asked for).
        Assert.True(Metrics.Sum("broker.policy.reloads", ("broker.policy.reload.outcome", "unchanged")) >= 1);
        Assert.True(Metrics.Sum("broker.policy.reloads", ("broker.policy.reload.outcome", "loaded")) >= 1);
        Assert.True(Metrics.Sum("broker.policy.reloads", ("broker.policy.reload.outcome", "rejected")) >= 1);
        Assert.All(Metrics.Of("broker.policy.reloads"), m => Assert.Contains(m.Tags["broker.policy.reload.outcome"], new[] { "loaded", "unchanged", "rejected" }));
    }

    [Fact]
    public async Task RateLimits_PerIdentityAndFailedAuthentication_CountEachRefusalByLimit()
    {
        // Arrange: one exchange an hour per identity; an address blocked after two failed authentications.
        await StartAsync(s =>
        {
            s.Configure<RateLimitOptions>(o =>
            {
                o.PerIdentity = "1/h";
                o.FailedAuthentication.Limit = 2;
                o.FailedAuthentication.Window = TimeSpan.FromHours(1);
            });
        });

        // Act
        var first = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        var second = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        var stranger = new Broker.IntegrationTests.Infrastructure.TestSpiffeAuthority("acme.test", Path.Combine(_fixture.Directory.Path, "stranger.json"));
        var failures = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            failures.Add((await _fixture.ExchangeAsync(ExchangeFixture.Request(stranger.Svid("/agents/reader")))).Status);
        }

        // Assert
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.TooManyRequests), (first.Status, second.Status));
        Assert.Equal(HttpStatusCode.TooManyRequests, failures[^1]);
        Assert.Equal(1, Metrics.Sum("broker.rate_limit.rejections", ("broker.rate_limit.limit", "identity")));
        Assert.Equal(failures.Count(s => s == HttpStatusCode.TooManyRequests), Metrics.Sum("broker.rate_limit.rejections", ("broker.rate_limit.limit", "failed_authentication")));
        Assert.Equal(1, Metrics.Sum("broker.exchange.requests", ("broker.exchange.reason", Broker.Errors.ErrorCatalog.RateLimited.Reason)));
    }

    [Fact]
    public async Task DPoP_ProofForAnotherEndpoint_CountsTheFailureByReason()
    {
        await StartAsync();
        var key = DPoPExchange.NewKey();
        var proof = key.CreateProof("POST", new Uri("https://other.example/oauth2/token"));

        var answer = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), proof);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Answer.Status);
        var failure = Assert.Single(Metrics.Of("broker.dpop.proof.failures"));
        Assert.Equal("wrong_htu", failure.Tags["broker.dpop.failure_reason"]);
        Assert.Equal("refused", Assert.Single(Metrics.Of("broker.exchange.requests")).Tags["broker.exchange.outcome"]);
    }

    [Fact]
    public async Task Keys_PublishedGaugeAndTheRotationCounterTheRingCalls()
    {
        await StartAsync();

        _fixture.Host.Services.GetRequiredService<KeysTelemetry>().Rotated("manual");

        Assert.Equal(_fixture.Host.Services.GetRequiredService<ISigningKeyProvider>().Published.Count, Metrics.Of("broker.keys.published")[^1].Value);
        Assert.Equal(1, Metrics.Sum("broker.keys.rotations", ("broker.keys.rotation.trigger", "manual")));
    }

    private async Task<HttpResponseMessage> OpenFeedAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/revocations/v1/events");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _fixture.Acme.Svid("/mcp/invoices"));
        request.Headers.Accept.ParseAdd("text/event-stream");
        return await _fixture.Host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
