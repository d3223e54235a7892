using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Testing;
using Broker.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>
/// <c>Broker:Redis:WaitForReplicas</c> against a real primary and a real <c>--replicaof</c> replica: with the replica
/// acknowledging, tokens are issued and their grants (and revocations) are on the replica when the broker answers;
/// with no replica to acknowledge, the exchange returns no token and a revocation reports an error.
/// </summary>
public sealed class RedisWaitForReplicasTests : IAsyncLifetime
{
    private readonly ExchangeFixture _broker = new();
    private readonly string _keyPrefix = RedisServerFixture.NewKeyPrefix();
    private readonly FakeLogCollector _logs = new();
    private RedisProcess _primary = null!;
    private RedisProcess _replica = null!;

    public async ValueTask InitializeAsync()
    {
        // No diskless-sync delay (5 s by default): the replica links up as soon as it starts.
        _primary = new RedisProcess(Directory.CreateTempSubdirectory("broker-redis-primary-").FullName, FreePorts.Next(), ["--appendonly", "no", "--repl-diskless-sync-delay", "0"]);
        await _primary.StartAsync();
        _replica = new RedisProcess(
            Directory.CreateTempSubdirectory("broker-redis-replica-").FullName,
            FreePorts.Next(),
            ["--appendonly", "no", "--replicaof", "127.0.0.1", _primary.Port.ToString(CultureInfo.InvariantCulture)]);
        await _replica.StartAsync();
        await WaitForReplicaLinkAsync();
        _broker.Configure = s =>
        {
            s.Configure<RedisOptions>(o =>
            {
                o.Configuration = _primary.EndPoint;
                o.KeyPrefix = _keyPrefix;
                o.WaitForReplicas = 1;
            });
            // Generous: under a loaded machine a healthy replica can take a while to acknowledge, and the test
            // with the replica down only pays this once.
            s.Configure<RedisOptions>(o =>
            {
                o.WaitForReplicasTimeout = TimeSpan.FromSeconds(3);
                o.OperationTimeout = TimeSpan.FromSeconds(10);
            });
        };
        _broker.Services = s => s.AddSingleton<ILoggerProvider>(new FakeLoggerProvider(_logs));
        await _broker.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        foreach (var server in new[] { _replica, _primary })
        {
            await server.DisposeAsync();
            RedisServerFixture.TryDelete(server.Directory);
        }
    }

    [Fact]
    public async Task ExchangeAndRevoke_ReplicaAcknowledges_AreOnTheReplicaWhenTheBrokerAnswers()
    {
        // Act
        var response = await _broker.ExchangeAsync(ExchangeFixture.Request(_broker.Acme.Svid("/agents/reader")));
        var grantId = new JsonWebToken(response.AccessToken).Id;
        var onReplica = await ExistsOnReplicaAsync(Keys.Grant(Tag, grantId));
        var (revoked, body) = await AdminRevokeAsync(grantId);
        var markOnReplica = await ExistsOnReplicaAsync(Keys.Revocation(Tag, grantId));

        // Assert: WAIT returned only once the replica had the write, so it is there already.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.True(onReplica);
        Assert.Equal(HttpStatusCode.OK, revoked);
        Assert.Equal("revoked", body.GetProperty("result").GetString());
        Assert.True(markOnReplica);
    }

    [Fact]
    public async Task ExchangeAndRevoke_NoReplicaToAcknowledge_FailClosed_AndTheRevocationCanBeRetried()
    {
        // Arrange: a grant recorded while the replica was there; then the replica goes away.
        var issued = await _broker.ExchangeAsync(ExchangeFixture.Request(_broker.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, issued.Status);
        var grantId = new JsonWebToken(issued.AccessToken).Id;
        await _replica.StopAsync();

        // Act
        var refused = await _broker.ExchangeAsync(ExchangeFixture.Request(_broker.Acme.Svid("/agents/reader")));
        var (revokeStatus, revokeBody) = await AdminRevokeAsync(grantId);

        // Assert: no token without a replicated grant; the revocation is not reported as done.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("temporarily_unavailable", refused.Error);
        Assert.Equal("1", refused.RetryAfter);
        Assert.False(refused.Json.TryGetProperty("access_token", out _));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, revokeStatus);
        Assert.Equal("temporarily_unavailable", revokeBody.GetProperty("error").GetString());
        Assert.Equal(
            ["0 of 1 (RecordAsync)", "0 of 1 (RevokeAsync)"],
            _logs.GetSnapshot().Where(r => r.Id.Name == "ReplicasDidNotAcknowledge").Select(r => $"{r.StructuredState!.Single(p => p.Key == "Acknowledged").Value} of {r.StructuredState!.Single(p => p.Key == "Required").Value} ({r.StructuredState!.Single(p => p.Key == "Operation").Value})"));

        // Act + Assert: once the replica is back, the admin's retry succeeds (the first attempt's mark stands).
        await _replica.StartAsync();
        await WaitForReplicaLinkAsync();
        JsonElement retried = default;
        await Eventually.HoldsAsync(async () =>
        {
            var (status, body) = await AdminRevokeAsync(grantId);
            retried = body;
            return status == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30));
        Assert.Equal("already_revoked", retried.GetProperty("result").GetString());
        Assert.True(await ExistsOnReplicaAsync(Keys.Revocation(Tag, grantId)));
    }

    private RedisGrantKeys Keys => new(_keyPrefix);

    private static string Tag => GrantId.RoutingTag("acme");

    private async Task<bool> ExistsOnReplicaAsync(StackExchange.Redis.RedisKey key)
        => (await RedisProcess.CliAsync("-p", _replica.Port.ToString(CultureInfo.InvariantCulture), "EXISTS", key.ToString())).Trim() == "1";

    private async Task WaitForReplicaLinkAsync()
        => await Eventually.HoldsAsync(
            async () => (await RedisProcess.CliAsync("-p", _replica.Port.ToString(CultureInfo.InvariantCulture), "INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30));

    private async Task<(HttpStatusCode Status, JsonElement Body)> AdminRevokeAsync(string grantId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{grantId}/revoke") { Content = JsonContent.Create(new { reason = "compromised" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _broker.Acme.Svid("/admins/alice"));
        using var response = await _broker.Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }
}
