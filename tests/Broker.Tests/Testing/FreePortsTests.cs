using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Broker.Testing;

namespace Broker.Tests.Testing;

/// <summary>The ports the tests' servers are told to bind: outside the kernel's ephemeral range, reserved, and free when handed out.</summary>
public sealed class FreePortsTests
{
    [Fact]
    public void Next_ManyTimes_DistinctBindablePortsInTheRange()
    {
        var ports = Enumerable.Range(0, 200).Select(_ => FreePorts.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, FreePorts.Range.Lowest, FreePorts.Range.End - 1));
        using var listener = new TcpListener(IPAddress.Loopback, ports[^1]);
        listener.Start();
    }

    [Fact]
    public void Range_OnLinux_OutsideTheKernelsEphemeralRange()
    {
        Assert.True(OperatingSystem.IsLinux(), "These tests run on Linux.");
        var ephemeral = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(value => int.Parse(value, CultureInfo.InvariantCulture))
            .ToArray();

        Assert.True(FreePorts.Range.End <= ephemeral[0] || FreePorts.Range.Lowest > ephemeral[1],
            $"{FreePorts.Range} overlaps the ephemeral range {ephemeral[0]}-{ephemeral[1]}.");
        Assert.True(FreePorts.Range.Lowest >= 10_000);
    }

    [Fact]
    public async Task Next_ThePortIsReserved_AnotherProcessCannotTakeItsLock()
    {
        var port = FreePorts.Next();
        var file = Path.Combine(Path.GetTempPath(), "broker-test-ports", port.ToString(CultureInfo.InvariantCulture));

        // flock(1) takes the same kind of lock (flock(2)) that .NET takes for FileShare.None; -n: fail at once, -E: with 9.
        var start = new ProcessStartInfo("flock") { ArgumentList = { "-n", "-E", "9", file, "true" } };
        using var process = Process.Start(start)!;
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(9, process.ExitCode);
    }

    [Fact]
    public void IsFree_PortWithALoopbackListener_IsNotFreeUntilItStops()
    {
        var port = FreePorts.Next();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();

        Assert.False(FreePorts.IsFree(port));

        listener.Stop();
        Assert.True(FreePorts.IsFree(port));
    }
}
