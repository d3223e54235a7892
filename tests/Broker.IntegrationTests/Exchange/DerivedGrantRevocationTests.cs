using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.InMemory;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// Over HTTP: a token narrowed by re-exchange dies with the token it was narrowed from, whoever revokes that one
/// (an admin, its holder), whichever store records the grants, and however the revocation interleaves with
/// re-exchanges.
/// </summary>
public sealed class DerivedGrantRevocationTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    /// <summary>Set by a test before a re-exchange: the store revokes the parent just before it records the child.</summary>
    private readonly ParentRevokedBeforeRecordStore _racingStore = new(new InMemoryGrantStore(TimeProvider.System));

    public async ValueTask InitializeAsync()
    {
        _fixture.Services = s => s.AddSingleton<IGrantStore>(_racingStore);
        await _fixture.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task RevokeParent_ByAdmin_ChildAndGrandchildAreInactiveAndCannotBeReExchanged()
    {
        // Arrange: exchange, then narrow twice.
        var parent = await IssueAsync(_fixture);
        var child = await ReExchangeAsync(_fixture, parent);
        var grandchild = await ReExchangeAsync(_fixture, child);
        Assert.True(await IsActiveAsync(_fixture, child));

        // Act
        var (status, body) = await AdminRevokeAsync(_fixture, GrantIdOf(parent), "agent compromised");

        // Assert: nothing derived from the parent is honoured or can be narrowed further.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("revoked", body.GetProperty("result").GetString());
        Assert.False(await IsActiveAsync(_fixture, parent));
        Assert.False(await IsActiveAsync(_fixture, child));
        Assert.False(await IsActiveAsync(_fixture, grandchild));
        var refused = await _fixture.ExchangeAsync(ExchangeFixture.Request(child));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("invalid_grant", refused.Error);

        // Assert: the admin API shows why, and the trail has one revocation event per grant.
        var (_, grant) = await AdminGetAsync(_fixture, $"/admin/v1/grants/{GrantIdOf(child)}");
        Assert.Equal("revoked", grant.GetProperty("status").GetString());
        Assert.Equal(GrantValidation.DescendantReason(GrantIdOf(parent), "agent compromised"), grant.GetProperty("revocation").GetProperty("reason").GetString());
        var (_, audit) = await AdminGetAsync(_fixture, "/admin/v1/audit?tenant=acme&limit=50");
        var revocations = audit.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == AuditEventTypes.GrantRevoked)
            .Select(e => (e.GetProperty("grant_id").GetString(), e.GetProperty("actor").GetString()))
            .ToList();
        Assert.Contains((GrantIdOf(parent), "spiffe://acme.test/admins/alice"), revocations);
        Assert.Contains((GrantIdOf(child), "spiffe://acme.test/admins/alice"), revocations);
        Assert.Contains((GrantIdOf(grandchild), "spiffe://acme.test/admins/alice"), revocations);
    }

    [Fact]
    public async Task RevokeChild_ByAdmin_LeavesTheParentActive()
    {
        var parent = await IssueAsync(_fixture);
        var child = await ReExchangeAsync(_fixture, parent);
        var grandchild = await ReExchangeAsync(_fixture, child);

        var (status, _) = await AdminRevokeAsync(_fixture, GrantIdOf(child), "narrowed token leaked");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(await IsActiveAsync(_fixture, parent));
        Assert.False(await IsActiveAsync(_fixture, child));
        Assert.False(await IsActiveAsync(_fixture, grandchild));
        Assert.True(await IsActiveAsync(_fixture, await ReExchangeAsync(_fixture, parent)));
    }

    [Fact]
    public async Task RevokeParent_ByItsHolder_RevokesWhatWasDerivedFromIt()
    {
        var parent = await IssueAsync(_fixture);
        var child = await ReExchangeAsync(_fixture, parent);

        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = parent });
        using var response = await _fixture.Host.Client.PostAsync("/oauth2/revoke", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(await IsActiveAsync(_fixture, child));
        Assert.Equal("invalid_grant", (await _fixture.ExchangeAsync(ExchangeFixture.Request(child))).Error);
    }

    [Fact]
    public async Task ReExchange_ParentRevokedBetweenValidationAndRecord_IsRefusedWithoutAToken_AndAudited()
    {
        // Arrange: the parent is active when the exchange validates it, and revoked just before the child is
        // recorded: the interleaving a concurrent admin revocation can produce, made certain.
        var parent = await IssueAsync(_fixture);
        var grantsBefore = (await _racingStore.ListAsync(GrantQuery.ForTenant("acme"), null, 100, CancellationToken.None)).Grants.Count;
        _racingStore.RevokeParentBeforeRecord = true;

        // Act
        var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(parent));

        // Assert: no token; the refusal is the one for a subject whose grant is not active, and it is audited.
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_grant", response.Error);
        Assert.False(response.Json.TryGetProperty("access_token", out _));
        var denial = _racingStore.Inner.AuditTrail.Last(e => e.Type == AuditEventTypes.TokenExchange);
        Assert.Equal((AuditOutcome.Denied, "subject.grant_not_active"), (denial.Outcome, denial.Reason));
        Assert.Null(denial.GrantId);
        Assert.Equal(grantsBefore, (await _racingStore.ListAsync(GrantQuery.ForTenant("acme"), null, 100, CancellationToken.None)).Grants.Count);
        Assert.Equal(GrantState.Revoked, await _racingStore.GetStateAsync(GrantIdOf(parent), CancellationToken.None));
    }

    internal static async Task<string> IssueAsync(ExchangeFixture fixture)
    {
        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/billing"), scope: "invoices.read invoices.write"));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    internal static async Task<string> ReExchangeAsync(ExchangeFixture fixture, string token)
    {
        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(token));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    internal static string GrantIdOf(string token) => new JsonWebToken(token).Id;

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> AdminRevokeAsync(ExchangeFixture fixture, string grantId, string reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke") { Content = JsonContent.Create(new { reason }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/admins/alice"));
        using var response = await fixture.Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    internal static async Task<bool> IsActiveAsync(ExchangeFixture fixture, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/mcp/invoices"));
        using var response = await fixture.Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> AdminGetAsync(ExchangeFixture fixture, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/admins/alice"));
        using var response = await fixture.Host.Client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>
    /// The real in-memory store, which revokes a grant's parent right before recording the grant when asked to: the
    /// race between a re-exchange and its parent's revocation, forced into its worst interleaving.
    /// </summary>
    private sealed class ParentRevokedBeforeRecordStore(InMemoryGrantStore inner) : IGrantStore
    {
        public InMemoryGrantStore Inner => inner;

        public bool RevokeParentBeforeRecord { get; set; }

        public async ValueTask<RecordGrantResult> RecordAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
            => (await RecordWithStatusAsync(grant, issued, cancellationToken)).Result;

        public async ValueTask<RecordGrantOutcome> RecordWithStatusAsync(GrantRecord grant, AuditEvent issued, CancellationToken cancellationToken)
        {
            if (RevokeParentBeforeRecord && grant.ParentGrantId is { } parent)
            {
                await inner.RevokeAsync(parent, "spiffe://acme.test/admins/alice", "revoked during the exchange", cancellationToken);
            }

            return await inner.RecordWithStatusAsync(grant, issued, cancellationToken);
        }

        public ValueTask<byte[]?> ReadStatusListAsync(string tenant, CancellationToken cancellationToken) => inner.ReadStatusListAsync(tenant, cancellationToken);

        public ValueTask<GrantRecord?> FindAsync(string grantId, CancellationToken cancellationToken) => inner.FindAsync(grantId, cancellationToken);

        public ValueTask AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken) => inner.AppendAuditAsync(auditEvent, cancellationToken);

        public ValueTask<GrantState> GetStateAsync(string grantId, CancellationToken cancellationToken) => inner.GetStateAsync(grantId, cancellationToken);

        public ValueTask<bool> IsRevokedAsync(string grantId, CancellationToken cancellationToken) => inner.IsRevokedAsync(grantId, cancellationToken);

        public ValueTask<RevokeResult> RevokeAsync(string grantId, string revokedBy, string reason, CancellationToken cancellationToken)
            => inner.RevokeAsync(grantId, revokedBy, reason, cancellationToken);

        public ValueTask<int> RevokeAllAsync(GrantQuery query, string revokedBy, string reason, CancellationToken cancellationToken)
            => inner.RevokeAllAsync(query, revokedBy, reason, cancellationToken);

        public ValueTask<GrantPage> ListAsync(GrantQuery query, string? cursor, int pageSize, CancellationToken cancellationToken)
            => inner.ListAsync(query, cursor, pageSize, cancellationToken);

        public ValueTask<RevocationPage> ReadRevocationsAsync(string tenant, StreamPosition? afterPosition, int count, CancellationToken cancellationToken)
            => inner.ReadRevocationsAsync(tenant, afterPosition, count, cancellationToken);

        public ValueTask<StreamPosition> GetRevocationPositionAsync(string tenant, CancellationToken cancellationToken)
            => inner.GetRevocationPositionAsync(tenant, cancellationToken);

        public ValueTask<IReadOnlyList<AuditEvent>> ReadAuditAsync(string? tenant, int count, CancellationToken cancellationToken)
            => inner.ReadAuditAsync(tenant, count, cancellationToken);

        public ValueTask<RevocationSubscription> SubscribeRevocationsAsync(CancellationToken cancellationToken) => inner.SubscribeRevocationsAsync(cancellationToken);

        public ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);
    }
}

/// <summary>
/// The same over a real redis-server: many clients re-exchange one token while an admin revokes it; afterwards no
/// token that was handed out is honoured.
/// </summary>
public sealed class RedisDerivedGrantRevocationTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    public async ValueTask InitializeAsync()
    {
        _fixture.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = redis.Configuration;
                o.KeyPrefix = RedisServerFixture.NewKeyPrefix();
            });
        };
        await _fixture.InitializeAsync();
    }

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task ReExchanges_RacingTheParentsRevocation_LeaveNoTokenActive()
    {
        // Arrange
        var parent = await DerivedGrantRevocationTests.IssueAsync(_fixture);
        ConcurrentBag<string> issued = [];
        ConcurrentBag<string?> refusals = [];
        var revoked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Act: four clients narrow the parent (and what they get, once more) until they are refused; the admin
        // revokes the parent once ten tokens are out.
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                var child = await _fixture.ExchangeAsync(ExchangeFixture.Request(parent));
                if (child.Status != HttpStatusCode.OK)
                {
                    refusals.Add(child.Error);
                    return;
                }

                issued.Add(child.AccessToken);
                var grandchild = await _fixture.ExchangeAsync(ExchangeFixture.Request(child.AccessToken));
                if (grandchild.Status == HttpStatusCode.OK)
                {
                    issued.Add(grandchild.AccessToken);
                }
                else
                {
                    refusals.Add(grandchild.Error);
                }
            }
        })).ToList();
        var admin = Task.Run(async () =>
        {
            await Infrastructure.Eventually.HoldsAsync(() => issued.Count >= 10, TimeSpan.FromSeconds(60));
            var (status, _) = await DerivedGrantRevocationTests.AdminRevokeAsync(_fixture, DerivedGrantRevocationTests.GrantIdOf(parent), "stop the task");
            Assert.Equal(HttpStatusCode.OK, status);
            revoked.SetResult();
        });
        await Task.WhenAll([.. clients, admin]);

        // Assert: every refusal is invalid_grant; every token handed out is inactive, and its grant revoked.
        Assert.True(revoked.Task.IsCompletedSuccessfully);
        Assert.NotEmpty(refusals);
        Assert.All(refusals, e => Assert.Equal("invalid_grant", e));
        var store = _fixture.Host.Services.GetRequiredService<IGrantStore>();
        foreach (var token in issued)
        {
            Assert.False(await DerivedGrantRevocationTests.IsActiveAsync(_fixture, token));
            Assert.Equal(GrantState.Revoked, await store.GetStateAsync(DerivedGrantRevocationTests.GrantIdOf(token), CancellationToken.None));
        }
    }
}
