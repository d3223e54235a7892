using System.Diagnostics.Metrics;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Broker.Testing;
using Broker.Testing.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

namespace Broker.IntegrationTests.Keys;

/// <summary>What the shared key ring tells operators: rotations on <c>broker.keys.rotations</c>, a ring gone stale on the <c>keys</c> check.</summary>
public sealed class KeyRingTelemetryTests(RedisServerFixture redis)
{
    [Fact]
    public async Task ScheduledRotation_CountedOnceOnEachReplica_TheFirstKeyNot()
    {
        // Arrange: two replicas on one fake clock, each counting the rotations its own meter factory reports.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var replicas = await KeyRingReplicas.StartAsync(redis.Configuration, services: s => s.AddSingleton<TimeProvider>(clock));
        using var countsA = RotationCounter.For(replicas.A.Services);
        using var countsB = RotationCounter.For(replicas.B.Services);
        var first = replicas.RingA.Active.KeyId;

        // Act: the successor is made an hour before it is due, both replicas read it, and the day passes.
        clock.Advance(TimeSpan.FromHours(23));
        await replicas.RingA.RunScheduleAsync(CancellationToken.None);
        await Infrastructure.Eventually.HoldsAsync(async () => (await replicas.RingA.RefreshAsync(CancellationToken.None)).Keys.Count >= 2, TimeSpan.FromSeconds(10));
        await replicas.RingB.RefreshAsync(CancellationToken.None);
        Assert.Equal(first, replicas.RingB.Active.KeyId);
        clock.Advance(TimeSpan.FromHours(2));
        var activeA = replicas.RingA.Active.KeyId;
        var activeB = replicas.RingB.Active.KeyId;

        // Assert: both sign with the successor and each counted exactly one scheduled rotation.
        Assert.NotEqual(first, activeA);
        Assert.Equal(activeA, activeB);
        Assert.Equal([("scheduled", 1L)], countsA.Counts);
        Assert.Equal([("scheduled", 1L)], countsB.Counts);
    }

    [Fact]
    public async Task RedisGone_RingNotReadForThreePollIntervals_KeysCheckDegraded_StillSigning()
    {
        // Arrange: a replica on a Redis of its own that polls the ring every second.
        var directory = Directory.CreateTempSubdirectory("broker-keyring-").FullName;
        await using var server = new RedisProcess(directory, FreePorts.Next(), ["--appendonly", "no"]);
        await server.StartAsync();
        try
        {
            await using var replicas = await KeyRingReplicas.StartAsync(
                server.EndPoint, configure: s => s.Configure<KeysOptions>(o => o.Rotation.PollInterval = TimeSpan.FromSeconds(1)), second: false);
            var health = replicas.A.Services.GetRequiredService<HealthCheckService>();
            var fresh = await health.CheckHealthAsync(r => r.Name == "keys");
            var active = replicas.RingA.Active.KeyId;

            // Act: Redis goes away, so the ring can no longer be read.
            await server.StopAsync();
            HealthReport? stale = null;
            await Infrastructure.Eventually.HoldsAsync(
                async () => (stale = await health.CheckHealthAsync(r => r.Name == "keys")).Status == HealthStatus.Degraded,
                TimeSpan.FromSeconds(20));

            // Assert: degraded (still ready), and the replica keeps the key it signs with.
            Assert.Equal(HealthStatus.Healthy, fresh.Status);
            Assert.StartsWith("key ring last read from Redis", stale!.Entries["keys"].Description, StringComparison.Ordinal);
            Assert.Equal(active, replicas.RingA.Active.KeyId);
        }
        finally
        {
            RedisServerFixture.TryDelete(directory);
        }
    }

    private sealed class RotationCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

        private RotationCounter(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name == "broker.keys.rotations")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                var trigger = tags.ToArray().Single(t => t.Key == "broker.keys.rotation.trigger").Value as string ?? "";
                lock (_counts)
                {
                    _counts[trigger] = _counts.GetValueOrDefault(trigger) + value;
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<(string Trigger, long Count)> Counts
        {
            get
            {
                lock (_counts)
                {
                    return [.. _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value))];
                }
            }
        }

        public static RotationCounter For(IServiceProvider services) => new(services.GetRequiredService<IMeterFactory>());

        public void Dispose() => _listener.Dispose();
    }
}
