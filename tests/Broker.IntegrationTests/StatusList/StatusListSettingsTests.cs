using System.Net;
using System.Text.Json;
using Broker.Audit;
using Broker.Authentication;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.StatusList;

/// <summary>A full list refuses the exchange (fail closed, audited); the list switched off; its settings validated.</summary>
public sealed class StatusListFullTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new() { Configure = s => s.Configure<StatusListOptions>(o => o.Capacity = 8) };

    public ValueTask InitializeAsync() => _fixture.InitializeAsync();

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task ListFull_ExchangeRefused503_AuditedAsDenied_NoTokenWithoutStatus()
    {
        // Arrange: the 8 indexes of acme's list held by live tokens.
        var svid = _fixture.Acme.Svid("/agents/reader");
        for (var i = 0; i < 8; i++)
        {
            var issued = await _fixture.ExchangeAsync(ExchangeFixture.Request(svid));
            Assert.Equal(HttpStatusCode.OK, issued.Status);
        }

        // Act
        var refused = await _fixture.ExchangeAsync(ExchangeFixture.Request(svid));

        // Assert: RFC 6749 §5.2 body, 503 with Retry-After, never a token.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("temporarily_unavailable", refused.Error);
        Assert.NotNull(refused.RetryAfter);
        Assert.False(refused.Json.TryGetProperty("access_token", out _));

        // Assert: one denial in acme's trail saying why; nine events in all, eight of them issuances.
        var events = _fixture.Host.AuditTrail.Where(e => e.Tenant == "acme" && e.Type == AuditEventTypes.TokenExchange).ToList();
        Assert.Equal(8, events.Count(e => e.Outcome == AuditOutcome.Allowed));
        var denied = Assert.Single(events, e => e.Outcome == AuditOutcome.Denied);
        Assert.Equal(("server.status_list_full", "temporarily_unavailable"), (denied.Reason, denied.Error));
        Assert.Null(denied.GrantId);

        // Assert: another tenant's list is its own.
        var globex = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Globex.Svid("/agents/reader"), resource: ExchangeFixture.GlobexInvoicesResource));
        Assert.Equal(HttpStatusCode.OK, globex.Status);
    }
}

/// <summary>The status list switched off: no claim, no endpoint, no metadata member, no limit.</summary>
public sealed class StatusListOffTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new()
    {
        Configure = s =>
        {
            s.Configure<StatusListOptions>(o =>
            {
                o.Enabled = false;
                o.Capacity = 8;
            });
        },
    };

    public ValueTask InitializeAsync() => _fixture.InitializeAsync();

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Off_TokensWithoutStatus_NoEndpoint_NoMetadataMember_NoLimit()
    {
        // Act
        List<string> tokens = [];
        for (var i = 0; i < 10; i++)
        {
            var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
            Assert.Equal(HttpStatusCode.OK, response.Status);
            tokens.Add(response.AccessToken);
        }

        using var list = await _fixture.Host.Client.GetAsync("/statuslists/v1/acme", TestContext.Current.CancellationToken);
        using var metadata = JsonDocument.Parse(await _fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server", TestContext.Current.CancellationToken));

        // Assert
        Assert.All(tokens, t => Assert.False(new JsonWebToken(t).TryGetPayloadValue<object>("status", out _)));
        Assert.Equal(HttpStatusCode.NotFound, list.StatusCode);
        Assert.False(metadata.RootElement.TryGetProperty("status_list_endpoint", out _));
    }
}

/// <summary>
/// Two broker replicas on one real redis-server: a revocation made through one replica is in the list the other one
/// serves, and both allocate from the same list.
/// </summary>
public sealed class RedisStatusListTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();
    private readonly ExchangeFixture _first = new();
    private BrokerTestHost? _second;

    public async ValueTask InitializeAsync()
    {
        _first.Configure = Redis;
        await _first.InitializeAsync();
        _second = await BrokerTestHost.StartAsync(Path.Combine(_first.Directory.Path, "policy"), s =>
        {
            s.Configure<AdminOptions>(o => o.GlobalAdmins.Add(ExchangeFixture.GlobalAdmin));
            Redis(s);
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        await _first.DisposeAsync();
    }

    [Fact]
    public async Task RevokedThroughOneReplica_SetInTheListTheOtherServes_IndexesShared()
    {
        // Arrange: tokens from the first replica and from the second.
        var first = await ExchangeAsync(_first.Host);
        var second = await ExchangeAsync(_second!);
        Assert.NotEqual(StatusListTests.StatusOf(first).Index, StatusListTests.StatusOf(second).Index);

        // Act: revoked through the first replica.
        var (status, _) = await DerivedGrantRevocationTests.AdminRevokeAsync(_first, new JsonWebToken(second).Id, "leaked");

        // Assert: the second replica's list (read from Redis) says so.
        Assert.Equal(HttpStatusCode.OK, status);
        await Eventually.HoldsAsync(
            async () => StatusListTests.IsSet(await ReadListAsync(_second!), StatusListTests.StatusOf(second).Index),
            TimeSpan.FromSeconds(10),
            TestContext.Current.CancellationToken);
        Assert.False(StatusListTests.IsSet(await ReadListAsync(_second!), StatusListTests.StatusOf(first).Index));
        Assert.IsType<RedisGrantStore>(_second!.Services.GetService(typeof(IGrantStore)));
    }

    private void Redis(Dictionary<string, string?> settings)
    {
        settings.Configure<RedisOptions>(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = _prefix;
        });
    }

    private async Task<string> ExchangeAsync(BrokerTestHost host)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(_first.Acme.Svid("/agents/reader")));
        using var response = await host.Client.PostAsync("/oauth2/token", content, TestContext.Current.CancellationToken);
        var parsed = await ExchangeResponse.ReadAsync(response);
        Assert.Equal(HttpStatusCode.OK, parsed.Status);
        return parsed.AccessToken;
    }

    private static async Task<byte[]> ReadListAsync(BrokerTestHost host)
    {
        var jwt = await host.Client.GetStringAsync("/statuslists/v1/acme", TestContext.Current.CancellationToken);
        using var payload = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1]));
        return StatusListTests.Inflate(payload.RootElement.GetProperty("status_list").GetProperty("lst").GetString()!);
    }
}

/// <summary>The settings are checked when the broker starts.</summary>
public sealed class StatusListOptionsValidatorTests
{
    // The changes are Action<StatusListOptions>, typed as Delegate: a public theory cannot name the broker's internal options type.
    public static TheoryData<string, Delegate> Invalid => new()
    {
        { "Capacity", Change(o => o.Capacity = 0) },
        { "Capacity", Change(o => o.Capacity = 12) },
        { "Capacity", Change(o => o.Capacity = StatusListOptions.MaxCapacity + 8) },
        { "Ttl", Change(o => o.Ttl = TimeSpan.Zero) },
        { "Ttl", Change(o => o.Ttl = TimeSpan.FromHours(2)) },
        { "Lifetime", Change(o => o.Lifetime = TimeSpan.FromSeconds(10)) },
        { "Lifetime", Change(o => o.Lifetime = TimeSpan.FromDays(2)) },
        { "ReuseMargin", Change(o => o.ReuseMargin = TimeSpan.FromSeconds(-1)) },
        { "ReuseMargin", Change(o => o.ReuseMargin = TimeSpan.FromDays(2)) },
    };

    private static Delegate Change(Action<StatusListOptions> change) => change;

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_OutOfRange_FailsNamingTheSetting(string setting, Delegate change)
    {
        // Arrange
        var options = new StatusListOptions();
        ((Action<StatusListOptions>)change)(options);

        // Act
        var result = new StatusListOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Failed);
        Assert.Contains($"Broker:StatusList:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        Assert.Equal(ValidateOptionsResult.Success, new StatusListOptionsValidator().Validate(null, new StatusListOptions()));
        Assert.Equal(ValidateOptionsResult.Success, new StatusListOptionsValidator().Validate(null, new StatusListOptions { Capacity = StatusListOptions.MaxCapacity, ReuseMargin = TimeSpan.Zero }));
    }
}
