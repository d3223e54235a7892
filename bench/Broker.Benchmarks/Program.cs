using Broker.Benchmarks;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// `load-tokens <dir> [count]` writes the wrk fixture (bench/load/run.sh); `grant-memory` is below; anything else goes to
// BenchmarkDotNet's switcher (`--filter '*'`, `--list flat`, ...).
if (args.Length > 0 && args[0] == LoadTokens.Command)
{
    return LoadTokens.Run(args[1..]);
}

// `grant-memory [--grants N] ...` measures Redis memory per grant (GrantMemoryReport), outside BenchmarkDotNet.
if (args.Length > 0 && args[0] == GrantMemoryReport.Command)
{
    return await GrantMemoryReport.RunAsync(args[1..]);
}

// `policy-scale` (PolicyScaleReport) and `revocation-scale` (RevocationScaleReport): costs as the policy and the grants grow.
if (args.Length > 0 && args[0] == PolicyScaleReport.Command)
{
    return await PolicyScaleReport.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == RevocationScaleReport.Command)
{
    return await RevocationScaleReport.RunAsync(args[1..]);
}

// A short job (3 warm-up + 3 measured iterations) keeps the whole suite to a few minutes on a shared
// 2-core machine. In-process: BenchmarkDotNet would otherwise generate and build a project inside this
// repository, where the root Directory.Build.props (warnings as errors, central package versions)
// applies to code we do not own. `--cpu-clock` measures process CPU time instead of wall time, which
// other jobs on a shared machine disturb much less (ProcessCpuClock).
var cpuClock = args.Contains("--cpu-clock", StringComparer.Ordinal);
args = [.. args.Where(a => a != "--cpu-clock")];
var job = Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance);
job = cpuClock ? job.WithClock(ProcessCpuClock.Instance).WithId("ShortRun-CpuTime") : job;
var config = DefaultConfig.Instance
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(StatisticColumn.Median)
    .HideColumns(Column.Error, Column.StdDev);
BenchmarkSwitcher.FromAssembly(typeof(BrokerHost).Assembly).Run(args, config);
return 0;
