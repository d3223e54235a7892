using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Redis;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.Replicas;

/// <summary>
/// Two broker processes on a real three-master Redis Cluster, working as one: what one replica does, the other
/// knows within a second; when one dies mid-load, the other keeps serving and no grant is lost; a key rotated on one
/// is published and used by both.
/// </summary>
public sealed class TwoReplicasOnClusterTests(RedisClusterFixture cluster)
{
    private static readonly TimeSpan WithinASecond = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ExchangeOnOne_AdminRevokesOnTheOther_IntrospectionAndFeedAgreeOnBoth_WithinASecond()
    {
        // Arrange: a token from replica 0; both replicas' revocation feeds open and ready; both say it is active.
        await using var replicas = await ClusterReplicas.StartAsync(cluster);
        var exchange = await replicas.ExchangeAsync(0);
        Assert.True(exchange.Status == HttpStatusCode.OK, exchange.Body);
        var grantId = new JsonWebToken(exchange.AccessToken).Id;
        await using var feed0 = await FeedReader.OpenAsync(replicas.Clients[0], replicas.Fixture.Acme.Svid("/mcp/invoices"));
        await using var feed1 = await FeedReader.OpenAsync(replicas.Clients[1], replicas.Fixture.Acme.Svid("/mcp/invoices"));
        Assert.True(await replicas.IsActiveAsync(0, exchange.AccessToken));
        Assert.True(await replicas.IsActiveAsync(1, exchange.AccessToken));

        // Act: the admin revokes on replica 1.
        var (status, _) = await replicas.AdminAsync(1, $"/admin/v1/grants/{grantId}/revoke", """{"reason":"replica test"}""");
        var revoked = Stopwatch.StartNew();

        // Assert: within a second of the answer, both feeds carried the revocation and both replicas introspect it as
        // inactive (polled against the deadline).
        Assert.Equal(HttpStatusCode.OK, status);
        var agreed = new List<string>();
        while (revoked.Elapsed < WithinASecond && agreed.Count < 4)
        {
            agreed.Clear();
            if (feed0.Revoked.ContainsKey(grantId))
            {
                agreed.Add("feed 0");
            }

            if (feed1.Revoked.ContainsKey(grantId))
            {
                agreed.Add("feed 1");
            }

            if (!await replicas.IsActiveAsync(0, exchange.AccessToken))
            {
                agreed.Add("introspection 0");
            }

            if (!await replicas.IsActiveAsync(1, exchange.AccessToken))
            {
                agreed.Add("introspection 1");
            }

            await Task.Delay(20);
        }

        Assert.True(agreed.Count == 4, $"Within a second only these agreed: {string.Join(", ", agreed)} (after {revoked.Elapsed.TotalMilliseconds:0} ms).");
    }

    [Fact]
    public async Task OneReplicaKilledMidLoad_TheOtherKeepsServing_NoGrantLost()
    {
        // Arrange
        await using var replicas = await ClusterReplicas.StartAsync(cluster);
        var issued = new ConcurrentBag<(int Replica, bool AfterKill, string Token)>();
        var survivorFailures = new ConcurrentBag<string>();
        var killed = 0;

        // Act: four workers exchange on both replicas in turn; once 40 tokens are out, replica 0 is killed (SIGKILL) while
        // requests are in flight; the workers go on until the survivor has issued 40 more.
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; issued.Count(t => t.AfterKill) < 40; i++)
            {
                var replica = (worker + i) % 2;
                var afterKill = Volatile.Read(ref killed) == 1;
                try
                {
                    var answer = await replicas.ExchangeAsync(replica);
                    if (answer.Status == HttpStatusCode.OK)
                    {
                        issued.Add((replica, afterKill, answer.AccessToken));
                    }
                    else if (replica == 1)
                    {
                        survivorFailures.Add(answer.Body);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && replica == 0)
                {
                    // The killed replica: refused connections and requests cut short, never a token.
                }
            }
        })).ToList();
        await Infrastructure.Eventually.HoldsAsync(() => issued.Count >= 40, TimeSpan.FromSeconds(60));
        await replicas.Processes[0].KillAsync();
        Volatile.Write(ref killed, 1);
        await Task.WhenAll(workers);

        // Assert: the survivor refused nothing; every token any replica returned, before or after the kill, is
        // recorded (introspected as active on the survivor).
        Assert.Empty(survivorFailures);
        Assert.Contains(issued, t => t.Replica == 0 && !t.AfterKill);
        var lost = new List<string>();
        foreach (var (replica, _, token) in issued)
        {
            if (!await replicas.IsActiveAsync(1, token))
            {
                lost.Add($"{new JsonWebToken(token).Id} from replica {replica}");
            }
        }

        Assert.Empty(lost);
    }

    [Fact]
    public async Task KeyRotatedOnOne_IsPublishedAndUsedByBoth()
    {
        // Arrange
        await using var replicas = await ClusterReplicas.StartAsync(cluster);
        var old = (await replicas.JwksKidsAsync(0))[0];
        Assert.Equal([old], await replicas.JwksKidsAsync(1));

        // Act: an admin rotates on replica 0.
        var (status, body) = await replicas.AdminAsync(0, "/admin/v1/keys/rotate");

        // Assert: replica 1 publishes the new key, then both sign with it, while both still publish the old one.
        Assert.Equal(HttpStatusCode.OK, status);
        var kid = body.GetProperty("kid").GetString()!;
        await Infrastructure.Eventually.HoldsAsync(async () => (await replicas.JwksKidsAsync(1)).Contains(kid), TimeSpan.FromSeconds(5));
        for (var replica = 0; replica < 2; replica++)
        {
            var r = replica;
            await Infrastructure.Eventually.HoldsAsync(async () => await replicas.ExchangeAsync(r) is { Status: HttpStatusCode.OK } answer && new JsonWebToken(answer.AccessToken).Kid == kid, TimeSpan.FromSeconds(15));
            Assert.Equal([kid, old], await replicas.JwksKidsAsync(r));
        }
    }

    /// <summary>A verifier's revocation feed connection: the revoked grant IDs it has read, once the feed said ready.</summary>
    private sealed class FeedReader : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly HttpResponseMessage _response;
        private readonly Task _reading;

        private FeedReader(HttpResponseMessage response, TaskCompletionSource ready)
        {
            _response = response;
            _reading = Task.Run(() => ReadAsync(ready));
        }

        public ConcurrentDictionary<string, bool> Revoked { get; } = new(StringComparer.Ordinal);

        public static async Task<FeedReader> OpenAsync(HttpClient client, string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/revocations/v1/events");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = new FeedReader(response, ready);
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
            return reader;
        }

        private async Task ReadAsync(TaskCompletionSource ready)
        {
            try
            {
                using var stream = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
                string? eventName = null;
                while (await stream.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        eventName = line["event: ".Length..];
                        if (eventName == "ready")
                        {
                            ready.TrySetResult();
                        }
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == "revoked")
                    {
                        using var data = JsonDocument.Parse(line["data: ".Length..]);
                        Revoked[data.RootElement.GetProperty("grant_id").GetString()!] = true;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                ready.TrySetException(ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            await _reading;
            _stop.Dispose();
        }
    }
}
