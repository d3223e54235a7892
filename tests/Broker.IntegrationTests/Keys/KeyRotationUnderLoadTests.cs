using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Keys;

/// <summary>
/// Automatic rotation under load across two replicas: keys rotate every few seconds while both replicas issue tokens,
/// and a verifier that refreshes its JWKS on an unknown <c>kid</c> accepts every one of them; no token is signed by a key
/// that both replicas' JWKS did not already publish when the request was sent.
/// </summary>
public sealed class KeyRotationUnderLoadTests(RedisServerFixture redis)
{
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RotationUnderLoad_TwoReplicas_NoTokenRefused_NoTokenSignedByAnUnpublishedKey()
    {
        // Arrange: a key signs for 4 s and is published 3 s before it does; replicas poll every 250 ms.
        await using var replicas = await KeyRingReplicas.StartAsync(redis.Configuration, s =>
        {
            s.Configure<KeysOptions>(o =>
            {
                o.Rotation.Interval = TimeSpan.FromSeconds(4);
                o.Rotation.PrePublication = TimeSpan.FromSeconds(3);
                o.Rotation.PollInterval = TimeSpan.FromMilliseconds(250);
            });
        });
        BrokerTestHost[] hosts = [replicas.A, replicas.B];
        var clock = Stopwatch.StartNew();
        var firstSeen = new ConcurrentDictionary<(int Replica, string Kid), TimeSpan>();
        using var stop = new CancellationTokenSource();

        // A watcher reads both JWKS continually and notes when it first saw each key on each replica (after the answer
        // arrived: later than the replica started publishing it, so the check below is if anything stricter).
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                for (var replica = 0; replica < hosts.Length; replica++)
                {
                    foreach (var kid in await KeyRingReplicas.JwksKidsAsync(hosts[replica]))
                    {
                        firstSeen.TryAdd((replica, kid), clock.Elapsed);
                    }
                }

                await Task.Delay(20);
            }
        });
        await Eventually.HoldsAsync(() => firstSeen.Keys.Any(k => k.Replica == 0) && firstSeen.Keys.Any(k => k.Replica == 1), TimeSpan.FromSeconds(5));

        // Act: four workers exchange against both replicas in turn for the load duration.
        // Each token goes to the verifier as soon as it is issued, as it would reach a resource server.
        var issued = new ConcurrentBag<(int Replica, TimeSpan SentAt, string Token)>();
        var failures = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<string>();
        var verifier = new RefreshingVerifier(hosts);
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; clock.Elapsed < LoadDuration + TimeSpan.FromSeconds(1); i++)
            {
                var replica = (worker + i) % 2;
                var sentAt = clock.Elapsed;
                using var content = new FormUrlEncodedContent(ExchangeFixture.Request(replicas.Fixture.Acme.Svid("/agents/reader")));
                using var response = await hosts[replica].Client.PostAsync("/oauth2/token", content);
                var answer = await ExchangeResponse.ReadAsync(response);
                if (answer.Status == HttpStatusCode.OK)
                {
                    issued.Add((replica, sentAt, answer.AccessToken));
                    if (await verifier.ValidateAsync(answer.AccessToken) is { } error)
                    {
                        refused.Add(error);
                    }
                }
                else
                {
                    failures.Add(answer.Body);
                }
            }
        })).ToList();
        await Task.WhenAll(workers);
        await stop.CancelAsync();
        await watcher;

        // Assert: every exchange succeeded, the verifier accepted every token, keys rotated on both replicas.
        Assert.Empty(failures);
        Assert.Empty(refused);
        var kids = issued.Select(t => (t.Replica, Kid: new JsonWebToken(t.Token).Kid)).ToList();
        Assert.True(kids.Where(k => k.Replica == 0).Select(k => k.Kid).Distinct().Count() >= 2, "Replica A did not rotate under load.");
        Assert.True(kids.Where(k => k.Replica == 1).Select(k => k.Kid).Distinct().Count() >= 2, "Replica B did not rotate under load.");

        // No token was signed by a key that either replica's JWKS had not published before the request was sent.
        foreach (var (replica, sentAt, token) in issued)
        {
            var kid = new JsonWebToken(token).Kid;
            for (var published = 0; published < hosts.Length; published++)
            {
                Assert.True(
                    firstSeen.TryGetValue((published, kid), out var seen) && seen <= sentAt,
                    $"A token from replica {replica} sent at {sentAt} is signed by {kid}, which replica {published} had not published yet.");
            }
        }
    }

    /// <summary>
    /// A resource server's view: a cached JWKS, refreshed (once per unknown kid, from the replicas in turn) when a token
    /// names a key it does not have; a kid still unknown after the refresh is refused.
    /// </summary>
    private sealed class RefreshingVerifier(BrokerTestHost[] hosts)
    {
        private readonly JsonWebTokenHandler _handler = new();
        private readonly SemaphoreSlim _refresh = new(1, 1);
        private volatile List<SecurityKey> _keys = [];
        private int _refreshes;

        public async Task<string?> ValidateAsync(string token)
        {
            var kid = new JsonWebToken(token).Kid;
            if (!_keys.Any(k => k.KeyId == kid))
            {
                await _refresh.WaitAsync();
                try
                {
                    if (!_keys.Any(k => k.KeyId == kid))
                    {
                        var host = hosts[_refreshes++ % hosts.Length];
                        _keys = [.. new JsonWebKeySet(await host.Client.GetStringAsync("/.well-known/jwks.json")).Keys];
                    }
                }
                finally
                {
                    _refresh.Release();
                }
            }

            var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
            {
                ValidIssuer = BrokerTestHost.Issuer,
                ValidAudience = ExchangeFixture.InvoicesResource,
                ValidTypes = ["at+jwt"],
                IssuerSigningKeys = _keys,
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            });
            return result.IsValid ? null : result.Exception?.GetType().Name ?? "invalid";
        }
    }
}
