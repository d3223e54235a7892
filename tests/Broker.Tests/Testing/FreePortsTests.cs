using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Broker.Testing;

namespace Broker.Tests.Testing;

/// <summary>The ports the tests' servers are told to bind: outside the kernel's ephemeral range, and free when handed out.</summary>
public sealed class FreePortsTests
{
    [Fact]
    public void Next_ManyTimes_DistinctBindablePortsBelowTheEphemeralRange()
    {
        var ephemeralStart = int.Parse(
            File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0],
            CultureInfo.InvariantCulture);

        var ports = Enumerable.Range(0, 200).Select(_ => FreePorts.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, port => Assert.InRange(port, 10_000, ephemeralStart - 1));
        using var listener = new TcpListener(IPAddress.Loopback, ports[^1]);
        listener.Start();
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

    [Fact]
    public void Next_Below_OnlyPortsUnderIt()
    {
        Assert.All(Enumerable.Range(0, 20).Select(_ => FreePorts.Next(below: 10_500)), port => Assert.InRange(port, 10_000, 10_499));
    }

    [Fact]
    public void Next_BelowTheLowestTestPort_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FreePorts.Next(below: 10_000));
    }
}
