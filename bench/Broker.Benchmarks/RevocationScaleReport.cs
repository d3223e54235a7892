using System.Diagnostics;
using System.Globalization;
using System.Text;
using Broker.Audit;
using Broker.Grants;
using StackExchange.Redis;

namespace Broker.Benchmarks;

/// <summary>
/// <c>revocation-scale [--grants 1000,10000] [--runs N] [--out FILE]</c>: revoking every grant of one task, and every
/// grant of one subject, with that many grants in it (<see cref="IGrantStore.RevokeAllAsync"/> on the Redis store, a
/// throw-away redis-server of its own): wall time of the call, redis-server CPU (<c>INFO cpu</c>, user + system) and
/// the commands Redis ran (<c>INFO stats</c> <c>total_commands_processed</c>, scripts counted once), median of the
/// runs, each on a freshly flushed server. The grants are the exchange's: record, indexes, status list index and audit
/// event each, and every other grant of a task re-exchanged from its first (a descendant revoked with its parent).
/// </summary>
internal static class RevocationScaleReport
{
    public const string Command = "revocation-scale";

    private const string Tenant = "acme-corp";

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = ReportArguments.Parse(args, ["--grants", "--runs", "--out"]);
        if (arguments is null || !arguments.TryPositives("--grants", [1000, 10_000], out var sizes) || !arguments.TryPositive("--runs", 5, out var runs))
        {
            Console.Error.WriteLine($"usage: Broker.Benchmarks {Command} [--grants 1000,10000] [--runs N] [--out FILE]");
            return 2;
        }

        var outputPath = arguments.Text("--out");

        // A generous bound on each call: on a shared machine a 200-grant revocation script can take longer than the
        // production default of 2 s, and a timeout would end the measurement, not measure anything.
        await using var redis = await ReportRedis.StartAsync(operationTimeout: TimeSpan.FromSeconds(60));
        var store = redis.Store;
        var server = redis.Server;

        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"revocation-scale {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {File.ReadAllText("/proc/loadavg").Trim()}, median of {runs} runs")
            .AppendLine("by       grants  revoked  wall-ms  us/grant  redis-cpu-ms  redis-us/grant  commands  commands/grant  round-trips");
        foreach (var size in sizes)
        {
            foreach (var byTask in new[] { true, false })
            {
                var wall = new List<double>();
                var cpu = new List<double>();
                var commands = new List<double>();
                var revoked = 0;
                for (var run = 0; run < runs; run++)
                {
                    await server.FlushAllDatabasesAsync();
                    var (query, grants) = Sample(size, byTask);
                    foreach (var generation in grants.GroupBy(g => g.ParentGrantId is null))
                    {
                        foreach (var chunk in generation.Chunk(64))
                        {
                            var results = await Task.WhenAll(chunk.Select(g => store.RecordAsync(g, Issued(g), CancellationToken.None).AsTask()));
                            if (results.Any(r => r != RecordGrantResult.Recorded))
                            {
                                throw new InvalidOperationException("A grant of the sample was not recorded.");
                            }
                        }
                    }

                    var (cpuBefore, commandsBefore) = await StatsAsync(server);
                    var clock = Stopwatch.StartNew();
                    revoked = await store.RevokeAllAsync(query, "spiffe://acme.example/admins/oncall", "bench", CancellationToken.None);
                    wall.Add(clock.Elapsed.TotalMilliseconds);
                    var (cpuAfter, commandsAfter) = await StatsAsync(server);
                    cpu.Add((cpuAfter - cpuBefore) * 1000);

                    // INFO itself is one command, counted in the "after" figure.
                    commands.Add(commandsAfter - commandsBefore - 1);
                    if (revoked != size)
                    {
                        throw new InvalidOperationException($"Revoked {revoked} of {size} grants.");
                    }
                }

                // Round trips of RevokeAllAsync: a page of IDs and one revocation script per 200 grants, and the empty last page.
                var roundTrips = (2 * ((size + 199) / 200)) + 1;
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"{(byTask ? "task" : "subject"),-8} {size,6} {revoked,8} {Median(wall),8:F0} {Median(wall) * 1000 / size,9:F1} {Median(cpu),13:F0} {Median(cpu) * 1000 / size,15:F1} {Median(commands),9:F0} {Median(commands) / size,15:F1} {roundTrips,12}");
            }
        }

        Console.Write(report);
        if (outputPath is not null)
        {
            await File.WriteAllTextAsync(outputPath, report.ToString());
        }

        return 0;
    }

    /// <summary>redis-server's CPU seconds (user + system) and commands processed so far.</summary>
    private static async Task<(double Cpu, double Commands)> StatsAsync(IServer server)
    {
        var info = (await server.InfoAsync()).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        double Read(string key) => double.Parse(info[key], CultureInfo.InvariantCulture);
        return (Read("used_cpu_user") + Read("used_cpu_sys"), Read("total_commands_processed"));
    }

    /// <summary>
    /// <paramref name="size"/> grants of one task (by task: 200 subjects) or of one subject (by subject: tasks of two grants each),
    /// the second grant of each pair re-exchanged from the first.
    /// </summary>
    private static (GrantQuery Query, List<GrantRecord> Grants) Sample(int size, bool byTask)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        const string task = "task-5f0c8f6e-3a57-4c55-9b7e-2f1d7c3a9e10";
        const string subject = "spiffe://acme.example/ns/agents-0/sa/research-agent-0";
        var grants = new List<GrantRecord>(size);
        for (var i = 0; i < size; i++)
        {
            var who = byTask ? $"spiffe://acme.example/ns/agents-{i % 10}/sa/research-agent-{i % 200}" : subject;
            grants.Add(new GrantRecord
            {
                Id = GrantId.New(Tenant),
                Tenant = Tenant,
                Subject = who,
                ClientId = who,
                Capabilities = ["files.read", "search.query"],
                Audience = "https://mcp.acme.example/files",
                TaskId = byTask ? task : string.Create(CultureInfo.InvariantCulture, $"task-{i / 2:D8}"),
                Purpose = "summarise the quarterly report for finance",
                IssuedAt = now,
                ExpiresAt = now.AddMinutes(10),
                PolicyVersion = "sha256:Yt0nN3gkA0bS3rQ6yJ8c2mTt9u1w4x5z",
                ParentGrantId = i % 2 == 1 ? grants[i - 1].Id : null,
            });
        }

        return (byTask ? GrantQuery.ForTask(Tenant, task) : GrantQuery.ForSubject(Tenant, subject), grants);
    }

    private static AuditEvent Issued(GrantRecord grant) => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = grant.IssuedAt,
        Outcome = AuditOutcome.Allowed,
        Tenant = grant.Tenant,
        Subject = grant.Subject,
        GrantedCapabilities = grant.Capabilities,
        Audience = grant.Audience,
        TaskId = grant.TaskId,
        Purpose = grant.Purpose,
        PolicyVersion = grant.PolicyVersion,
        GrantId = grant.Id,
    };

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
