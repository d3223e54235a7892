using System.Globalization;
using System.Text;
using Broker.Audit;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Testing.Grants;
using StackExchange.Redis;

namespace Broker.Benchmarks;

/// <summary>
/// <c>grant-memory [--grants N] [--no-derived] [--no-status-list] [--task-limits] [--spread] [--lifetime-minutes N] [--out FILE]</c>: measures Redis memory per grant
/// (record, indexes, string dictionaries, audit entry, status list, the link between a re-exchanged grant and its
/// parent) over a sample of realistic grants, and extrapolates to a million; and the Redis commands recording them took
/// (<c>INFO commandstats</c>: calls per grant, the record script's time per grant). Runs on a throw-away redis-server of its
/// own, so that <c>used_memory</c> counts nothing else. The method and the results are in docs/architecture.md
/// ("Memory per grant").
/// </summary>
internal static class GrantMemoryReport
{
    public const string Command = "grant-memory";

    private const int Subjects = 200;
    private const int GrantsPerTask = 2;
    private const string Tenant = "acme-corp";

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = ReportArguments.Parse(
            args, ["--grants", "--lifetime-minutes", "--out"], ["--no-derived", "--no-status-list", "--task-limits", "--spread"]);

        // 10,000 by default; bigger samples show the indexes past 128 members, where they change encoding. The sample's
        // token lifetime: a million grants take longer than 10 minutes to record on a loaded machine, so the first ones
        // would expire before the last are recorded: --lifetime-minutes 60 for those (the record keeps the expiry as a
        // number of the same size either way).
        if (arguments is null || !arguments.TryPositive("--grants", 10_000, out var grantCount) || !arguments.TryPositive("--lifetime-minutes", 10, out var lifetimeMinutes))
        {
            Console.Error.WriteLine($"usage: Broker.Benchmarks {Command} [--grants N] [--no-derived] [--no-status-list] [--task-limits] [--spread] [--lifetime-minutes N] [--out FILE]");
            return 2;
        }

        var lifetime = TimeSpan.FromMinutes(lifetimeMinutes);
        var outputPath = arguments.Text("--out");

        // The second grant of each task is a re-exchange of the first (a task token narrowed once for a tool), unless
        // --no-derived, which measures a sample of unrelated grants.
        var derived = !arguments.Has("--no-derived");

        // Expiries are whole seconds, as the exchange's (exp is a NumericDate). The sample is made in a tight loop, so by
        // default its grants expire within a few seconds (a burst: many grants per second of every tenant and subject
        // index); --spread spreads them evenly over the lifetime instead, as a steady stream of exchanges leaves the live
        // grants (a subject's grants then rarely share a second).
        var spread = arguments.Has("--spread");

        // Each grant gets a status list index (the default), unless --no-status-list.
        var statusList = !arguments.Has("--no-status-list");

        // With --task-limits every grant is recorded under a tenant's task_limits: at most 20 grants and 2 hours per
        // task (the task index keeps both), and the sample's capabilities in a forbidden pair with a third one, so each
        // grant checks the task's live grants too.
        var taskLimits = arguments.Has("--task-limits")
            ? new TaskLimitCheck { MaxGrants = 20, MaxDuration = TimeSpan.FromHours(2), ForbiddenRemainders = [["email.send_external"]] }
            : null;

        // A 60-second bound rather than the store's 2 seconds: on a loaded machine a batch of a million-grant sample can take
        // longer, and memory does not depend on how long it took.
        await using var redis = await ReportRedis.StartAsync(TimeSpan.FromSeconds(60), new StatusListOptions { Enabled = statusList });
        var ct = CancellationToken.None;
        var store = redis.Store;
        var db = redis.Database;
        var server = redis.Server;
        var keys = new RedisGrantKeys(redis.Options.KeyPrefix);
        var tag = GrantId.RoutingTag(Tenant);

        // Warm up (scripts cached, the tenant's streams exist) outside the measurement.
        var warmup = Sample(0, "warmup-" + Guid.NewGuid().ToString("N"), lifetime);
        await store.RecordAsync(warmup, Issued(warmup), ct);

        // Record the sample, 64 at a time; parents before the grants derived from them.
        List<GrantRecord> grants = [];
        var first = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()) + TimeSpan.FromMinutes(2);
        for (var i = 0; i < grantCount; i++)
        {
            var grant = Sample(i, null, lifetime, derived && i % GrantsPerTask != 0 ? grants[i - 1].Id : null) with { TaskLimits = taskLimits };
            if (spread)
            {
                grant = grant with { ExpiresAt = first.AddSeconds(Math.Floor(i * lifetime.TotalSeconds / grantCount)) };
            }

            grants.Add(grant);
        }

        var before = await UsedMemoryAsync(server);
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        foreach (var generation in grants.GroupBy(g => g.ParentGrantId is null))
        {
            foreach (var chunk in generation.Chunk(64))
            {
                var results = await Task.WhenAll(chunk.Select(g => store.RecordAsync(g, Issued(g), ct).AsTask()));
                if (results.Any(r => r != RecordGrantResult.Recorded))
                {
                    throw new InvalidOperationException("A grant of the sample was not recorded.");
                }
            }
        }

        var commands = await CommandStatsAsync(server);
        var after = await UsedMemoryAsync(server);

        // Per-structure sizes (MEMORY USAGE counts key, object and value, not the keyspace and expiry dict entries).
        long records = 0;
        long parentRecords = 0;
        long childRecords = 0;
        foreach (var chunk in grants.Chunk(256))
        {
            var sizes = await Task.WhenAll(chunk.Select(g => MemoryUsageAsync(db, keys.Grant(tag, g.Id))));
            records += sizes.Sum();
            parentRecords += sizes.Where((_, j) => chunk[j].ParentGrantId is null).Sum();
            childRecords += sizes.Where((_, j) => chunk[j].ParentGrantId is not null).Sum();
        }

        var derivedCount = grants.Count(g => g.ParentGrantId is not null);
        var childrenKeys = 0;
        foreach (var chunk in grants.Chunk(256))
        {
            childrenKeys += (await Task.WhenAll(chunk.Select(g => db.KeyExistsAsync(keys.Children(tag, g.Id))))).Count(e => e);
        }

        var (tenantIndex, tenantBuckets) = await IndexUsageAsync(db, keys.TagBase(tag), keys.TenantIndex(tag, Tenant));
        long subjectIndexes = 0;
        long subjectBuckets = 0;
        foreach (var subject in grants.Select(g => g.Subject).Distinct())
        {
            var (usage, buckets) = await ChunkedIndexUsageAsync(db, keys.TagBase(tag), keys.SubjectIndex(tag, Tenant, subject));
            subjectIndexes += usage;
            subjectBuckets += buckets;
        }

        long taskIndexes = 0;
        foreach (var chunk in grants.Select(g => g.TaskId).Distinct().Chunk(256))
        {
            taskIndexes += (await Task.WhenAll(chunk.Select(t => MemoryUsageAsync(db, keys.TaskIndex(tag, Tenant, t))))).Sum();
        }

        var dictionaries = await MemoryUsageAsync(db, keys.Dictionary(tag, 0)) + await MemoryUsageAsync(db, keys.Dictionary(tag, 1));
        long recordBytes = 0;
        foreach (var grant in grants.Take(1000))
        {
            recordBytes += await db.StringLengthAsync(keys.Grant(tag, grant.Id));
        }

        var audit = await MemoryUsageAsync(db, keys.AuditStream(tag));

        // The status list: the bits, the free indexes by the step they come free in, and the order of those steps.
        var statusBits = await MemoryUsageAsync(db, keys.StatusBits(tag, Tenant));
        var statusQueue = await MemoryUsageAsync(db, keys.StatusQueue(tag, Tenant));
        var statusOrder = await MemoryUsageAsync(db, keys.StatusOrder(tag, Tenant));
        var statusFields = await db.HashLengthAsync(keys.StatusQueue(tag, Tenant));
        var auditEntries = await db.StreamLengthAsync(keys.AuditStream(tag));

        // Report.
        double perGrantTotal = (double)(after - before) / grantCount;
        double perRecord = (double)records / grantCount;
        double perIndexes = (double)(tenantIndex + subjectIndexes + taskIndexes) / grantCount;
        double perDictionary = (double)dictionaries / grantCount;
        double perAudit = (double)audit / grantCount;
        double perAuditEntry = (double)audit / auditEntries;
        double perStatusList = (double)(statusBits + statusQueue + statusOrder) / grantCount;
        double withoutAudit = perGrantTotal - perAudit;
        var auditCap = new GrantsOptions().AuditMaxLength;
        double millionBytes = (withoutAudit * 1_000_000) + (perAuditEntry * auditCap);
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Grants recorded: {grantCount:N0} ({lifetime.TotalMinutes:F0}-minute tokens, 1 tenant, {Subjects} subjects, {GrantsPerTask} grants per task; {derivedCount:N0} re-exchanged from the first grant of their task; task limits {(taskLimits is null ? "off" : "on")}; expiries {(spread ? "spread over the lifetime" : "in a burst")}, {grants.Select(g => g.ExpiresAt).Distinct().Count():N0} seconds)")
            .AppendLine(CultureInfo.InvariantCulture, $"recording: {commands.Calls / (double)grantCount:F1} redis commands per grant in {commands.Scripts / (double)grantCount:F3} script calls per grant, script time {commands.ScriptMicroseconds / grantCount:F1} us per grant, load average {File.ReadAllText("/proc/loadavg").Trim()}")
            .AppendLine(CultureInfo.InvariantCulture, $"used_memory delta per grant (record + 3 index entries + audit entry): {perGrantTotal:F0} B")
            .AppendLine(CultureInfo.InvariantCulture, $"  record (MEMORY USAGE, MessagePack string): {perRecord:F0} B (value {recordBytes / 1000.0:F0} B)")
            .AppendLine(CultureInfo.InvariantCulture, $"    of which parents / unrelated grants {parentRecords / (double)(grantCount - derivedCount):F0} B, derived grants {(derivedCount == 0 ? 0 : childRecords / (double)derivedCount):F0} B; children keys: {childrenKeys}")
            .AppendLine(CultureInfo.InvariantCulture, $"  string dictionaries (MEMORY USAGE, amortised): {perDictionary:F1} B ({dictionaries:N0} B in all)")
            .AppendLine(CultureInfo.InvariantCulture, $"  indexes (tenant {tenantIndex / (double)grantCount:F0} + subject {subjectIndexes / (double)grantCount:F0} + task {taskIndexes / (double)grantCount:F0}): {perIndexes:F0} B")
            .AppendLine(CultureInfo.InvariantCulture, $"    tenant buckets {tenantBuckets:N0}, subject chunks {subjectBuckets:N0} (MEMORY USAGE of the directories and their buckets or chunks)")
            .AppendLine(CultureInfo.InvariantCulture, $"  audit stream: {perAudit:F0} B per grant ({auditEntries:N0} entries retained, {perAuditEntry:F0} B each)")
            .AppendLine(CultureInfo.InvariantCulture, $"  status list (MEMORY USAGE, {(statusList ? "on" : "off")}): {perStatusList:F1} B per grant (bits {statusBits:N0} B, free indexes {statusQueue:N0} B in {statusFields:N0} fields, their order {statusOrder:N0} B)")
            .AppendLine(CultureInfo.InvariantCulture, $"  keyspace + expiry dict entries and allocator slack (remainder): {perGrantTotal - perRecord - perDictionary - perIndexes - perAudit - perStatusList:F0} B")
            .AppendLine(CultureInfo.InvariantCulture, $"per grant without audit: {withoutAudit:F0} B; audit amortised over 1M grants with the stream capped at {auditCap:N0}: {perAuditEntry * auditCap / 1_000_000:F0} B")
            .AppendLine(CultureInfo.InvariantCulture, $"1M active grants: {millionBytes / (1024 * 1024):F0} MiB ({millionBytes / 1_000_000:F0} B per grant)")
            .ToString();
        Console.Write(report);
        if (outputPath is not null)
        {
            await File.WriteAllTextAsync(outputPath, report, ct);
        }

        return after > before && records > 0 && audit > 0 ? 0 : 1;
    }

    private static async Task<long> UsedMemoryAsync(IServer server)
    {
        var info = await server.InfoAsync("memory");
        return long.Parse(info.SelectMany(g => g).Single(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The issuance event the exchange writes with a grant, every field filled (as the store tests write it).</summary>
    private static AuditEvent Issued(GrantRecord grant) => TestGrants.Issued(grant, clientAddress: "10.42.7.19");

    /// <summary>MEMORY USAGE of a tenant's index: its directory and every bucket it names; and how many buckets.</summary>
    private static async Task<(long Usage, long Buckets)> IndexUsageAsync(IDatabase db, string tagBase, RedisKey directory)
    {
        var buckets = await db.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity);
        long usage = await MemoryUsageAsync(db, directory);
        foreach (var batch in buckets.Chunk(256))
        {
            usage += (await Task.WhenAll(batch.Select(b => MemoryUsageAsync(db, RedisGrantKeys.IndexBucket(tagBase, directory, (long)b))))).Sum();
        }

        return (usage, buckets.Length);
    }

    /// <summary>MEMORY USAGE of a subject's chunked index: its directory and every chunk it names; and how many chunks.</summary>
    private static async Task<(long Usage, long Chunks)> ChunkedIndexUsageAsync(IDatabase db, string tagBase, RedisKey directory)
    {
        var chunks = await db.SortedSetRangeByScoreAsync(directory, 0, double.PositiveInfinity);
        long usage = await MemoryUsageAsync(db, directory);
        foreach (var batch in chunks.Chunk(256))
        {
            usage += (await Task.WhenAll(batch.Select(c => MemoryUsageAsync(db, RedisGrantKeys.IndexChunk(tagBase, directory, c!))))).Sum();
        }

        return (usage, chunks.Length);
    }

    /// <summary>
    /// <c>INFO commandstats</c> since the last reset: every command's calls (a script's own calls counted apart from the
    /// script), the script calls, and the time in them (µs, what the script's commands took included).
    /// </summary>
    private static async Task<(long Calls, long Scripts, double ScriptMicroseconds)> CommandStatsAsync(IServer server)
    {
        long calls = 0;
        long scripts = 0;
        double microseconds = 0;
        foreach (var (key, value) in (await server.InfoAsync("commandstats")).SelectMany(g => g))
        {
            // cmdstat_zadd: calls=12,usec=34,usec_per_call=2.83,...
            var fields = value.Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            var count = long.Parse(fields["calls"], CultureInfo.InvariantCulture);
            calls += count;
            if (key is "cmdstat_evalsha" or "cmdstat_eval")
            {
                scripts += count;
                microseconds += double.Parse(fields["usec"], CultureInfo.InvariantCulture);
            }
        }

        return (calls - scripts, scripts, microseconds);
    }

    private static async Task<long> MemoryUsageAsync(IDatabase db, RedisKey key)
        => await db.ExecuteAsync("MEMORY", "USAGE", key.ToString(), "SAMPLES", "0") is { IsNull: false } usage ? (long)usage : 0;

    private static GrantRecord Sample(int i, string? taskId, TimeSpan lifetime, string? parent = null)
    {
        // Whole seconds, as the exchange's iat and exp.
        var now = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds());
        var subject = $"spiffe://acme.example/ns/agents-{i % Subjects % 10}/sa/research-agent-{i % Subjects}";
        var delegated = i % 5 == 0;
        IReadOnlyList<string> actors = delegated ? ["spiffe://acme.example/ns/orchestrator/sa/planner"] : [];
        return new GrantRecord
        {
            Id = GrantId.New(Tenant),
            Tenant = Tenant,
            Subject = subject,
            ClientId = delegated ? actors[0] : subject,
            ActorChain = actors,
            Capabilities = ["files.read", "search.query"],
            Audience = "https://mcp.acme.example/files",
            TaskId = taskId ?? $"task-{new Guid(i / GrantsPerTask, 0, 0, new byte[8]):D}",
            Purpose = "summarise the quarterly report for finance",
            IssuedAt = now,
            ExpiresAt = now + lifetime,
            Binding = i % 2 == 0 ? new GrantBinding("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", null) : null,
            PolicyVersion = "sha256:Yt0nN3gkA0bS3rQ6yJ8c2mTt9u1w4x5z7a8b9c0d1e2",
            ParentGrantId = parent,
        };
    }
}
