using System.Runtime.InteropServices;
using Perfolizer.Horology;

namespace Broker.Benchmarks;

/// <summary>
/// A BenchmarkDotNet clock that reads the CPU time of this process (all threads, user + system,
/// <c>CLOCK_PROCESS_CPUTIME_ID</c>) instead of the wall clock. On a shared machine another job's load
/// stretches wall time but not the CPU time our own code consumes, so this is the steadier measure of
/// what an operation costs. Linux only.
/// </summary>
internal sealed class ProcessCpuClock : IClock
{
    public static readonly ProcessCpuClock Instance = new();

    public string Title => "Process CPU time";

    public bool IsAvailable => OperatingSystem.IsLinux();

    public Frequency Frequency => Frequency.GHz;

    public long GetTimestamp()
    {
        if (NativeMethods.ClockGetTime(NativeMethods.ClockProcessCpuTimeId, out var now) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed.");
        }

        return (now.Seconds * 1_000_000_000) + now.Nanoseconds;
    }

    private static class NativeMethods
    {
        public const int ClockProcessCpuTimeId = 2;

        [DllImport("libc", EntryPoint = "clock_gettime")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int ClockGetTime(int clockId, out TimeSpec time);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
