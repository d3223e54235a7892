namespace Broker.Grants.InMemory;

/// <summary>
/// What <see cref="InMemoryGrantStore"/> remembers of each task of a tenant with task limits (<see cref="TaskLimitCheck"/>):
/// its first grant, how many grants it has had and which of its grants touched a forbidden combination. Not thread-safe:
/// the store calls it under its one lock, which makes check and record one atomic step, as the Redis record script does.
/// A task is forgotten when the Redis store's task index would expire: its last grant has expired and, with a maximum
/// duration, twice that duration has passed since its first grant.
/// </summary>
internal sealed class InMemoryTaskLimits
{
    private readonly Dictionary<(string Tenant, string Task), TaskState> _tasks = [];
    private readonly PriorityQueue<(string Tenant, string Task), DateTimeOffset> _removals = new();

    /// <summary>Null when <paramref name="grant"/> may be recorded; otherwise why not. Changes nothing.</summary>
    /// <param name="grant">The grant to record.</param>
    /// <param name="check">Its task's limits.</param>
    /// <param name="isLive">Whether a grant ID names an unexpired, unrevoked grant, and its capabilities.</param>
    /// <param name="now">The store's clock.</param>
    public RecordGrantResult? Check(GrantRecord grant, TaskLimitCheck check, Func<string, IReadOnlyList<string>?> isLive, DateTimeOffset now)
    {
        if (!_tasks.TryGetValue((grant.Tenant, grant.TaskId), out var task))
        {
            return null;
        }

        if (check.MaxDuration is { } duration && task.First is { } first && now >= first + duration)
        {
            return RecordGrantResult.TaskDurationExceeded;
        }

        if (check.MaxGrants is { } max && task.Count >= max)
        {
            return RecordGrantResult.TaskGrantLimit;
        }

        if (check.ForbiddenRemainders.Count == 0)
        {
            return null;
        }

        // Only live grants count: an expired or revoked one holds nothing any more (docs/policy.md, "Task limits").
        task.Governed.RemoveAll(id => isLive(id) is null);
        if (task.Governed.Count > TaskLimitCheck.MaxLiveGrantsChecked)
        {
            return RecordGrantResult.TaskGrantLimit;
        }

        var held = task.Governed.SelectMany(id => isLive(id)!).ToHashSet(StringComparer.Ordinal);
        return check.ForbiddenRemainders.Any(remainder => remainder.All(held.Contains)) ? RecordGrantResult.TaskForbiddenCombination : null;
    }

    /// <summary>Counts a grant that <see cref="Check"/> let through, once it is recorded.</summary>
    public void Record(GrantRecord grant, TaskLimitCheck check, DateTimeOffset now)
    {
        var key = (grant.Tenant, grant.TaskId);
        if (!_tasks.TryGetValue(key, out var task))
        {
            _tasks[key] = task = new TaskState();
        }

        if (check.MaxGrants is not null)
        {
            task.Count++;
        }

        var horizon = grant.ExpiresAt;
        if (check.MaxDuration is { } duration)
        {
            task.First ??= now;
            horizon = Max(horizon, task.First.Value + (2 * duration));
        }

        if (check.ForbiddenRemainders.Count > 0)
        {
            task.Governed.Add(grant.Id);
        }

        if (horizon > task.Horizon)
        {
            task.Horizon = horizon;
            _removals.Enqueue(key, horizon);
        }
    }

    /// <summary>Forgets the tasks whose horizon has passed.</summary>
    public void Purge(DateTimeOffset now)
    {
        while (_removals.TryPeek(out var key, out var at) && at <= now)
        {
            _removals.Dequeue();

            // A horizon moved later leaves an earlier, stale entry in the queue.
            if (_tasks.TryGetValue(key, out var task) && task.Horizon <= now)
            {
                _tasks.Remove(key);
            }
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private sealed class TaskState
    {
        public DateTimeOffset? First { get; set; }

        public int Count { get; set; }

        /// <summary>The task's grants that touched a forbidden combination.</summary>
        public List<string> Governed { get; } = [];

        public DateTimeOffset Horizon { get; set; }
    }
}
