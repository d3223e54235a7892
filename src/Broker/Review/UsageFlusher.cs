using Broker.Grants;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// Once per <see cref="ReviewOptions.FlushInterval"/>, drains <see cref="UsageRecorder"/>'s queue, sums it per
/// tenant-day and adds the sums to <see cref="IUsageStore"/> in one round of writes; and once more when the host stops.
/// A flush that fails is logged and dropped: the review may undercount by that interval, the grants are not affected.
/// </summary>
internal sealed class UsageFlusher(UsageRecorder recorder, IUsageStore store, IOptions<ReviewOptions> options, TimeProvider timeProvider, ILogger<UsageFlusher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync flushes what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    /// <summary>Writes what the queue holds now. One flush at a time; tests call it to make counts visible at once.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // At most one queue's worth per flush, so a flush's memory is bounded by the queue's capacity.
            var days = new Dictionary<(string Tenant, DateOnly Day), (Dictionary<UsageKey, long> Counts, long Overflow)>();
            long grants = 0;
            for (var i = 0; i < recorder.Capacity && recorder.TryTake(out var usage); i++)
            {
                var key = (usage.Tenant, usage.Day);
                if (!days.TryGetValue(key, out var day))
                {
                    days[key] = day = (new Dictionary<UsageKey, long>(), 0);
                }

                var count = new UsageKey(usage.Capability, usage.Identity);
                day.Counts[count] = day.Counts.GetValueOrDefault(count) + 1;
                grants++;
            }

            foreach (var ((tenant, date), dropped) in recorder.TakeDropped())
            {
                var day = days.GetValueOrDefault((tenant, date), (new Dictionary<UsageKey, long>(), 0));
                days[(tenant, date)] = (day.Counts, day.Overflow + dropped);
                grants += dropped;
            }

            if (days.Count == 0)
            {
                return;
            }

            try
            {
                await store.AddAsync([.. days.Select(d => new UsageBatch(d.Key.Tenant, d.Key.Day, d.Value.Counts, d.Value.Overflow))], cancellationToken);
                Log.UsageFlushed(logger, grants, days.Count);
            }
            catch (GrantStoreUnavailableException e)
            {
                Log.UsageFlushFailed(logger, grants, e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
