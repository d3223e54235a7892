using System.Diagnostics;
using System.Globalization;
using System.Text;
using Broker.Policy;
using Broker.Testing.Bench;

namespace Broker.Benchmarks;

/// <summary>
/// <c>policy-scale [--tenants 1,100,1000] [--runs N] [--out FILE]</c>: what loading (and so reloading) a policy
/// directory of generated tenants (<see cref="ScalePolicy"/>: 20 capabilities and 50 rules each) costs, for each
/// <see cref="TenantLayout"/>: wall and process CPU time of <see cref="PolicyLoader.Load"/> (median of the runs, after one
/// untimed load), and the managed memory the compiled <see cref="PolicySet"/> keeps (a full GC before and after, the
/// set held), with the tenant resolution index built as the first request would build it.
/// </summary>
internal static class PolicyScaleReport
{
    public const string Command = "policy-scale";

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = ReportArguments.Parse(args, ["--tenants", "--runs", "--out"]);
        if (arguments is null || !arguments.TryPositives("--tenants", [1, 100, 1000], out var sizes) || !arguments.TryPositive("--runs", 5, out var runs))
        {
            Console.Error.WriteLine($"usage: Broker.Benchmarks {Command} [--tenants 1,100,1000] [--runs N] [--out FILE]");
            return 2;
        }

        var outputPath = arguments.Text("--out");

        using var trustDomain = new BenchTrustDomain();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"policy-scale {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {File.ReadAllText("/proc/loadavg").Trim()}, {runs} timed loads each")
            .AppendLine("layout             tenants  files-KiB  load-wall-ms  load-cpu-ms  ms/tenant  retained-KiB  KiB/tenant");
        foreach (var layout in Enum.GetValues<TenantLayout>())
        {
            foreach (var size in sizes)
            {
                var directory = Directory.CreateTempSubdirectory("broker-policy-scale-").FullName;
                try
                {
                    ScalePolicy.Write(directory, size, layout, trustDomain.BundleJson());
                    var bytes = Directory.EnumerateFiles(directory).Sum(f => new FileInfo(f).Length);
                    Load(directory);
                    var wall = new List<double>();
                    var cpu = new List<double>();
                    for (var r = 0; r < runs; r++)
                    {
                        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                        var clock = Stopwatch.StartNew();
                        Load(directory);
                        wall.Add(clock.Elapsed.TotalMilliseconds);
                        cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds);
                    }

                    var retained = Retained(directory);
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"{layout,-18} {size,7} {bytes / 1024.0,10:F0} {Median(wall),13:F1} {Median(cpu),12:F1} {Median(wall) / size,10:F3} {retained / 1024.0,13:F0} {retained / 1024.0 / size,11:F1}");
                }
                finally
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }

        Console.Write(report);
        if (outputPath is not null)
        {
            await File.WriteAllTextAsync(outputPath, report.ToString());
        }

        return 0;
    }

    private static PolicySet Load(string directory)
    {
        var result = PolicyLoader.Load(directory, PolicyLoadOptions.Default);
        return result.Policy ?? throw new InvalidOperationException("The generated policy did not load: " + string.Join('\n', result.Errors.Take(5)));
    }

    /// <summary>Managed bytes a loaded policy keeps alive, its tenant resolution indexes built.</summary>
    private static long Retained(string directory)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var policy = Load(directory);
        foreach (var source in policy.TrustDomains.Values)
        {
            _ = source.TenantIndex;
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(policy);
        return after - before;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
