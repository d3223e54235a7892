using System.Net;
using System.Net.Http.Headers;
using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Grants.InMemory;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Subjects;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Exchange;

/// <summary>The exchange fixture with the in-memory grant store.</summary>
public class JwsCorpusFixture : IAsyncLifetime
{
    public ExchangeFixture Exchange { get; } = new();

    internal IGrantStore Store => Exchange.Host.Services.GetRequiredService<IGrantStore>();

    public async ValueTask InitializeAsync()
    {
        Exchange.Configure = Configure;
        await Exchange.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Exchange.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }
}

/// <summary>The exchange fixture with a real redis-server as the grant store.</summary>
public sealed class RedisJwsCorpusFixture(RedisServerFixture redis) : JwsCorpusFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings.Configure<RedisOptions>(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
        });
    }
}

/// <summary>
/// The corpus of <see cref="JwsGateCorpus"/> over real Kestrel: every defect, on both identity paths, is refused
/// with 400 invalid_grant, the catalog's description and the defect's own audited reason, records no grant, and is
/// not echoed. Run once per grant store (the subclasses below).
/// </summary>
public abstract class JwsGateCorpusTests(JwsCorpusFixture fixture)
{
    private const string JwtType = "urn:ietf:params:oauth:token-type:jwt";

    protected JwsCorpusFixture Fixture => fixture;

    private ExchangeFixture F => fixture.Exchange;

    [Theory]
    [MemberData(nameof(JwsGateCorpus.RefusedCases), MemberType = typeof(JwsGateCorpus))]
    public async Task SubjectToken_StructuralDefect_IsRefusedWithItsReasonOnEveryPath(string path, string defect)
    {
        // Arrange
        var token = JwsGateCorpus.Build(F, path, defect);
        var expected = JwsGateCorpus.Defects[defect].Reason;
        var grantsBefore = await CountGrantsAsync();

        // Act
        var response = await F.ExchangeAsync(ExchangeFixture.Request(token));

        // Assert
        AssertRefused(response, token, JwsGateCorpus.Catalog[expected].Description);
        await AssertAuditedAsync(token, expected);
        Assert.Equal(grantsBefore, await CountGrantsAsync());
    }

    [Theory]
    [MemberData(nameof(JwsGateCorpus.HarmlessCases), MemberType = typeof(JwsGateCorpus))]
    public async Task SubjectToken_BuiltTheSameWayWithoutADefect_IsAccepted(string path, string change)
    {
        // The control for the corpus: the same builder, keys and request, and no defect, get a token.
        var token = JwsGateCorpus.BuildHarmless(F, path, change);
        var grantsBefore = await CountGrantsAsync();

        var response = await F.ExchangeAsync(ExchangeFixture.Request(token));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(grantsBefore + 1, await CountGrantsAsync());
    }

    [Theory]
    [MemberData(nameof(JwsGateCorpus.AssertionCases), MemberType = typeof(JwsGateCorpus))]
    public async Task Assertion_StructuralDefect_IsRefusedByTheSameGate_WithItsReasonForTheAssertion(string path, string defect)
    {
        // Arrange: the defective token as the assertion of a jwt-bearer grant (RFC 7523).
        var token = JwsGateCorpus.Build(F, path, defect);
        var subjectReason = JwsGateCorpus.Defects[defect].Reason;
        var grantsBefore = await CountGrantsAsync();

        // Act
        var response = await F.ExchangeAsync(ExchangeFixture.JwtBearerRequest(token));

        // Assert: the subject token's refusal, worded for the assertion, audited as assertion.<reason>.
        AssertRefused(response, token, ErrorCatalog.ForAssertion(JwsGateCorpus.Catalog[subjectReason]).Description);
        await AssertAuditedAsync(token, "assertion." + subjectReason["subject.".Length..]);
        Assert.Equal(grantsBefore, await CountGrantsAsync());
    }

    [Theory]
    [MemberData(nameof(JwsGateCorpus.PathNames), MemberType = typeof(JwsGateCorpus))]
    public async Task Assertion_BuiltTheSameWayWithoutADefect_IsAccepted(string path)
    {
        var token = JwsGateCorpus.BuildHarmless(F, path, "as built");
        var grantsBefore = await CountGrantsAsync();

        var response = await F.ExchangeAsync(ExchangeFixture.JwtBearerRequest(token));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(grantsBefore + 1, await CountGrantsAsync());
    }

    [Theory]
    [MemberData(nameof(JwsGateCorpus.ActorCases), MemberType = typeof(JwsGateCorpus))]
    public async Task ActorToken_StructuralDefect_AnswersActorInvalid_AndAuditsThePreciseReason(string path, string defect)
    {
        // Arrange: a valid subject that may delegate, and a hostile actor.
        var subject = F.Acme.Svid("/agents/billing", claims: c => c["jti"] = Guid.NewGuid().ToString());
        var actor = JwsGateCorpus.Build(F, path, defect, actor: true);
        var form = ExchangeFixture.Request(subject);
        form["actor_token"] = actor;
        form["actor_token_type"] = JwtType;
        var grantsBefore = await CountGrantsAsync();

        // Act
        var response = await F.ExchangeAsync(form);

        // Assert: the caller learns only that the actor token is invalid; the trail says why.
        AssertRefused(response, actor, ErrorCatalog.ActorInvalid.Description);
        Assert.DoesNotContain(subject, response.Body, StringComparison.Ordinal);
        var reason = "actor." + JwsGateCorpus.Defects[defect].Reason["subject.".Length..];
        await AssertAuditedAsync(subject, reason);
        Assert.Equal(grantsBefore, await CountGrantsAsync());
    }

    [Theory]
    [MemberData(nameof(JwsGateCorpus.PathNames), MemberType = typeof(JwsGateCorpus))]
    public async Task ActorToken_BuiltTheSameWayWithoutADefect_PassesValidation(string path)
    {
        var subject = F.Acme.Svid("/agents/billing", claims: c => c["jti"] = Guid.NewGuid().ToString());
        var form = ExchangeFixture.Request(subject);
        form["actor_token"] = JwsGateCorpus.BuildHarmless(F, path, "as built", actor: true);
        form["actor_token_type"] = JwtType;

        var response = await F.ExchangeAsync(form);

        // The orchestrator's SVID may act for billing; the OIDC workload is a valid identity that policy does not allow as actor.
        if (path == JwsGateCorpus.Spiffe)
        {
            Assert.Equal(HttpStatusCode.OK, response.Status);
        }
        else
        {
            Assert.Equal("unauthorized_client", response.Error);
            await AssertAuditedAsync(subject, ErrorCatalog.ActorNotAllowed.Reason);
        }
    }

    [Fact]
    public async Task ActorToken_ATokenOfThisBroker_IsRefused_AndNothingIsRecorded()
    {
        // Arrange: a delegated token, billing acting through the orchestrator (act = orchestrator).
        var delegation = ExchangeFixture.Request(F.Acme.Svid("/agents/billing", claims: c => c["jti"] = Guid.NewGuid().ToString()));
        delegation["actor_token"] = F.Acme.Svid("/orchestrator/main");
        delegation["actor_token_type"] = JwtType;
        var delegated = await F.ExchangeAsync(delegation);
        Assert.Equal(HttpStatusCode.OK, delegated.Status);

        // Act: present it as the actor of another exchange, which would re-root the chain on billing.
        var subject = F.Acme.Svid("/agents/billing", claims: c => c["jti"] = Guid.NewGuid().ToString());
        var form = ExchangeFixture.Request(subject);
        form["actor_token"] = delegated.AccessToken;
        form["actor_token_type"] = "urn:ietf:params:oauth:token-type:access_token";
        var grantsBefore = await CountGrantsAsync();
        var response = await F.ExchangeAsync(form);

        // Assert
        AssertRefused(response, delegated.AccessToken, ErrorCatalog.ActorBrokerToken.Description);
        await AssertAuditedAsync(subject, "actor.broker_token");
        Assert.Equal(grantsBefore, await CountGrantsAsync());
    }

    [Theory]
    [InlineData("duplicate exp, expired first")]
    [InlineData("garbage after the claims")]
    [InlineData("typ dpop+jwt")]
    public async Task AdminBearer_StructuralDefect_IsUnauthenticated(string defect)
    {
        // The admin API authenticates through the same gate: an admin's own SVID with the defect is refused.
        var token = JwsGateCorpus.Paths[JwsGateCorpus.Spiffe].Valid(F, false);
        token.SetClaim("sub", "\"spiffe://acme.test/platform/root\"");
        JwsGateCorpus.Defects[defect].Apply(token, F, JwsGateCorpus.Paths[JwsGateCorpus.Spiffe]);
        var valid = JwsGateCorpus.Paths[JwsGateCorpus.Spiffe].Valid(F, false).SetClaim("sub", "\"spiffe://acme.test/platform/root\"");

        using var refused = await GetAsync("/admin/v1/audit?tenant=acme&limit=1", token.Sign(F.Acme.ActiveKey));
        using var accepted = await GetAsync("/admin/v1/audit?tenant=acme&limit=1", valid.Sign(F.Acme.ActiveKey));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await F.Host.Client.SendAsync(request);
    }

    private static void AssertRefused(ExchangeResponse response, string token, string description)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
        Assert.Equal(description, response.Json.GetProperty("error_description").GetString());
        Assert.Equal("no-store", response.CacheControl);

        // Neither the token nor any of its segments comes back.
        Assert.DoesNotContain(token, response.Body, StringComparison.Ordinal);
        foreach (var segment in token.Split('.').Where(s => s.Length >= 16))
        {
            Assert.DoesNotContain(segment, response.Body, StringComparison.Ordinal);
        }
    }

    private async Task AssertAuditedAsync(string subjectToken, string reason)
    {
        // Denials before a subject validated go to the global stream; later ones (a bad actor) to the
        // subject's tenant. Exactly one event either way.
        var hash = TokenHash.Of(subjectToken).ToString();
        var events = new List<AuditEvent>();
        foreach (var tenant in new[] { null, "acme", "globex" })
        {
            events.AddRange(await fixture.Store.ReadAuditAsync(tenant, 1000, CancellationToken.None));
        }

        var audited = Assert.Single(events, e => e.SubjectTokenSha256 == hash);
        Assert.Equal(AuditEventTypes.TokenExchange, audited.Type);
        Assert.Equal(AuditOutcome.Denied, audited.Outcome);
        Assert.Equal(reason, audited.Reason);
        Assert.Null(audited.GrantId);
    }

    private async Task<int> CountGrantsAsync()
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await fixture.Store.ListAsync(GrantQuery.ForTenant("acme"), cursor, GrantQuery.MaxPageSize, CancellationToken.None);
            count += page.Grants.Count;
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return count;
    }
}

/// <summary>The corpus with the in-memory grant store.</summary>
public sealed class JwsGateCorpusInMemoryTests(JwsCorpusFixture fixture) : JwsGateCorpusTests(fixture), IClassFixture<JwsCorpusFixture>
{
    [Fact]
    public void Store_IsInMemory() => Assert.IsType<InMemoryGrantStore>(Fixture.Store);
}

/// <summary>The corpus with a real redis-server as the grant store.</summary>
public sealed class JwsGateCorpusRedisTests(RedisJwsCorpusFixture fixture) : JwsGateCorpusTests(fixture), IClassFixture<RedisJwsCorpusFixture>
{
    [Fact]
    public void Store_IsRedis() => Assert.IsType<RedisGrantStore>(Fixture.Store);
}
