using System.Collections.Concurrent;
using System.Threading.Channels;
using Broker.Authentication;
using Broker.Grants;
using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// Hands each recorded grant's (tenant, capability, identity, day) to a bounded in-process queue for
/// <see cref="UsageFlusher"/>: the exchange never waits on the counters. A full queue never blocks nor grows: the grant
/// is then counted in its tenant-day's overflow only (its identity lost), which the review reports.
/// </summary>
internal sealed class UsageRecorder
{
    private readonly Channel<UsageEvent> _queue;
    private readonly ConcurrentDictionary<(string Tenant, DateOnly Day), long> _dropped = new();
    private readonly ILogger<UsageRecorder> _logger;
    private int _warned;

    public UsageRecorder(IOptions<ReviewOptions> options, ILogger<UsageRecorder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = options.Value.QueueCapacity;
        _queue = Channel.CreateBounded<UsageEvent>(new BoundedChannelOptions(Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _logger = logger;
    }

    /// <summary>The queue's capacity (<see cref="ReviewOptions.QueueCapacity"/>).</summary>
    public int Capacity { get; }

    /// <summary>Counts a grant that was just recorded: one entry per capability, under its subject.</summary>
    /// <param name="grant">The recorded grant.</param>
    /// <param name="subject">Its validated subject (OIDC identities are counted with their issuer).</param>
    public void Record(GrantRecord grant, WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(subject);
        var identity = WorkloadPrincipal.Qualify(subject.Kind, subject.Source, subject.Id);
        var day = DateOnly.FromDateTime(grant.IssuedAt.UtcDateTime);
        foreach (var capability in grant.Capabilities)
        {
            Enqueue(new UsageEvent(grant.Tenant, capability, identity, day));

            // A shared grant lives in the owner's tenant and is counted there; it is counted in the consumer's tenant
            // too, under the name the consumer's rules give it (owner:capability), so each side's review shows it.
            if (grant.ConsumerTenant is { } consumer)
            {
                Enqueue(new UsageEvent(consumer, TenantSharing.QualifiedName(grant.Tenant, capability), identity, day));
            }
        }
    }

    private void Enqueue(UsageEvent usage)
    {
        // TryWrite on a bounded channel in Wait mode fails at once when full: the exchange never waits here.
        if (!_queue.Writer.TryWrite(usage))
        {
            _dropped.AddOrUpdate((usage.Tenant, usage.Day), 1, static (_, n) => n + 1);
            if (Interlocked.Exchange(ref _warned, 1) == 0)
            {
                Log.UsageQueueFull(_logger, usage.Tenant);
            }
        }
    }

    /// <summary>Takes one waiting count, if any.</summary>
    public bool TryTake(out UsageEvent usage) => _queue.Reader.TryRead(out usage);

    /// <summary>Takes the counts of grants the full queue turned away, per tenant-day, and re-arms the warning.</summary>
    public IReadOnlyList<KeyValuePair<(string Tenant, DateOnly Day), long>> TakeDropped()
    {
        List<KeyValuePair<(string Tenant, DateOnly Day), long>> taken = [];
        foreach (var key in _dropped.Keys)
        {
            if (_dropped.TryRemove(key, out var count))
            {
                taken.Add(new(key, count));
            }
        }

        Interlocked.Exchange(ref _warned, 0);
        return taken;
    }
}

/// <summary>One capability of one recorded grant.</summary>
internal readonly record struct UsageEvent(string Tenant, string Capability, string Identity, DateOnly Day);
