using System.Net;
using Broker.DPoP;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using StackExchange.Redis;

namespace Broker.IntegrationTests.DPoP;

/// <summary>
/// Two broker processes sharing one real redis-server, as two replicas behind a load balancer: a DPoP proof accepted by
/// one is a replay at the other, a nonce issued by one is accepted by the other, the binding is kept in the Redis
/// grant record, and when Redis goes away proofs are refused with 503 rather than accepted unchecked.
/// </summary>
public sealed class DPoPRedisTests : IAsyncLifetime
{
    // Owned (not the shared server): one test stops it.
    private readonly RedisServerFixture _redis = new(durable: false, allowOverride: false);
    private readonly ExchangeFixture _fixture = new();
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();
    private BrokerTestHost _second = null!;

    public async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        _fixture.Configure = Configure;
        await _fixture.InitializeAsync();
        _second = await BrokerTestHost.StartAsync(Path.Combine(_fixture.Directory.Path, "policy"), Configure);
    }

    public async ValueTask DisposeAsync()
    {
        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        await _fixture.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private void Configure(Dictionary<string, string?> settings)
    {
        settings.Configure<RedisOptions>(o =>
        {
            o.Configuration = _redis.Configuration;
            o.KeyPrefix = _prefix;
            o.OperationTimeout = TimeSpan.FromMilliseconds(500);
        });
        settings.Configure<DPoPOptions>(o => o.RequireNonce = true);
    }

    [Fact]
    public async Task Exchange_ProofAcceptedByOneReplica_IsAReplayAtTheOther()
    {
        // Arrange: a nonce from the first replica, and one proof carrying it.
        var key = DPoPExchange.NewKey();
        var challenge = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof());
        var proof = key.Proof(challenge.Nonce);

        // Act
        var first = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), proof);
        var replayed = await DPoPExchange.PostAsync(_second.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), proof);

        // Assert: RFC 9449 §11.1 across replicas, through Redis.
        Assert.Equal((HttpStatusCode.BadRequest, "use_dpop_nonce"), (challenge.Answer.Status, challenge.Answer.Error));
        Assert.Equal(HttpStatusCode.OK, first.Answer.Status);
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_dpop_proof"), (replayed.Answer.Status, replayed.Answer.Error));
    }

    [Fact]
    public async Task Exchange_NonceIssuedByOneReplica_IsAcceptedByTheOther_AndTheBindingIsKeptInRedis()
    {
        // Arrange: the key of the nonces is shared through Redis (SET NX), so any replica's nonce serves at any other.
        var key = DPoPExchange.NewKey();
        var challenge = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof());

        // Act
        var response = await DPoPExchange.PostAsync(_second.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof(challenge.Nonce));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.Answer.Status);
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(response.Answer.AccessToken));
        var store = _fixture.Host.Services.GetRequiredService<IGrantStore>();
        Assert.IsType<RedisGrantStore>(store);
        var grant = await store.FindAsync(new JsonWebToken(response.Answer.AccessToken).Id, CancellationToken.None);
        Assert.Equal(new GrantBinding(key.Thumbprint, null), grant!.Binding);

        // The replay cache lives under the store's prefix, with an expiry: nothing of it outlives the window.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var entries = server.Keys(pattern: _prefix + "dpop:j:*").ToList();
        Assert.NotEmpty(entries);
        Assert.All(entries, k => Assert.InRange(redis.GetDatabase().KeyTimeToLive(k)!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(71)));
    }

    [Fact]
    public async Task Exchange_RedisDown_ProofIsRefusedWith503_NotAcceptedUnchecked()
    {
        // Arrange: the nonce key is known before Redis goes away.
        var key = DPoPExchange.NewKey();
        var challenge = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof());
        Assert.NotNull(challenge.Nonce);
        await _redis.StopAsync();

        // Act
        var response = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof(challenge.Nonce));

        // Assert: fail closed, as the grant store does.
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "temporarily_unavailable"), (response.Answer.Status, response.Answer.Error));
        Assert.Equal("1", response.Answer.RetryAfter);
        Assert.Contains("replay", response.Answer.Json.GetProperty("error_description").GetString(), StringComparison.Ordinal);
    }
}
