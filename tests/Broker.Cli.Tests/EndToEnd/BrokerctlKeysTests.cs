using System.Net;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Keys;
using Broker.IntegrationTests.Redis;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Cli.Tests.EndToEnd;

/// <summary>
/// <c>brokerctl keys list|rotate|retire</c> against two real brokers sharing a key ring in a real Redis: a global
/// admin rotates on one replica, both publish and then sign with the new key, the old one is retired; refusals come
/// back as the broker's own words with the documented exit codes.
/// </summary>
public sealed class BrokerctlKeysTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private KeyRingReplicas _replicas = null!;

    // The safe publication delay is JwksMaxAge (0) plus two polls (2 × 0.5 s): a rotation takes effect within a second.
    public async ValueTask InitializeAsync() => _replicas = await KeyRingReplicas.StartAsync(redis.Configuration);

    public ValueTask DisposeAsync() => _replicas.DisposeAsync();

    private async Task<(int Exit, string Out, string Err)> RunAsync(BrokerTestHost host, string? token, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        token ??= _replicas.Fixture.Acme.Svid("/platform/root");
        string[] global = ["--broker", host.BaseAddress.ToString().TrimEnd('/'), "--token", token];
        var exit = await Program.RunAsync([.. args, .. global], stdout, stderr);
        Assert.DoesNotContain(token, stdout.ToString() + stderr, StringComparison.Ordinal);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task GlobalAdmin_ListsRotatesAndRetires_AcrossTwoReplicas()
    {
        // Arrange
        var (listExit, listOut, _) = await RunAsync(_replicas.A, null, "keys", "list");
        Assert.Equal(0, listExit);
        var old = (await KeyRingReplicas.JwksKidsAsync(_replicas.A))[0];
        Assert.Contains(old, listOut, StringComparison.Ordinal);
        Assert.Contains("active", listOut, StringComparison.Ordinal);

        // Act: rotate on A.
        var (rotateExit, rotateOut, rotateErr) = await RunAsync(_replicas.A, null, "keys", "rotate", "--json");

        // Assert: the new key is published by B, then both replicas sign with it.
        Assert.True(rotateExit == 0, rotateErr);
        using var rotation = JsonDocument.Parse(rotateOut);
        var kid = rotation.RootElement.GetProperty("kid").GetString()!;
        Assert.Equal(old, rotation.RootElement.GetProperty("previous_kid").GetString());
        await Eventually.HoldsAsync(async () => (await KeyRingReplicas.JwksKidsAsync(_replicas.B)).Contains(kid), TimeSpan.FromSeconds(5));
        foreach (var host in new[] { _replicas.A, _replicas.B })
        {
            await Eventually.HoldsAsync(async () => new JsonWebToken(await ExchangeAsync(host)).Kid == kid, TimeSpan.FromSeconds(10));
        }

        // The list on B shows the new key active and the old one retired (still published).
        var (_, afterOut, _) = await RunAsync(_replicas.B, null, "keys", "list", "--json");
        using (var after = JsonDocument.Parse(afterOut))
        {
            var states = after.RootElement.GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("kid").GetString()!, k => k.GetProperty("state").GetString());
            Assert.Equal("active", states[kid]);
            Assert.Equal("retired", states[old]);
        }

        // Retiring the old key again says so; retiring the active one is refused (exit 1: the broker refused).
        var (retireExit, retireOut, _) = await RunAsync(_replicas.B, null, "keys", "retire", old);
        Assert.Equal(0, retireExit);
        Assert.StartsWith($"Key {old} was already retired; it stays published until ", retireOut, StringComparison.Ordinal);
        var (activeExit, _, activeErr) = await RunAsync(_replicas.A, null, "keys", "retire", kid);
        Assert.Equal(ExitCodes.Refused, activeExit);
        Assert.Contains("409 invalid_request: The active key cannot be retired", activeErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownKid_TenantAdmin_AndAnEmptyKid_AreRefusedClearly()
    {
        var (unknownExit, _, unknownErr) = await RunAsync(_replicas.A, null, "keys", "retire", "no-such-key");
        var (tenantExit, _, tenantErr) = await RunAsync(_replicas.A, _replicas.Fixture.Acme.Svid("/admins/alice"), "keys", "rotate");
        var (emptyExit, _, emptyErr) = await RunAsync(_replicas.A, null, "keys", "retire", " ");

        Assert.Equal(ExitCodes.Refused, unknownExit);
        Assert.Contains("404 not_found: No key with that kid is in the ring", unknownErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.AuthenticationFailed, tenantExit);
        Assert.Contains("Only global admins", tenantErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, emptyExit);
        Assert.Contains("the kid must be", emptyErr, StringComparison.Ordinal);
        Assert.Single(await KeyRingReplicas.JwksKidsAsync(_replicas.B));
    }

    private async Task<string> ExchangeAsync(BrokerTestHost host)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(_replicas.Fixture.Acme.Svid("/agents/reader")));
        using var response = await host.Client.PostAsync("/oauth2/token", content);
        var answer = await ExchangeResponse.ReadAsync(response);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        return answer.AccessToken;
    }
}
