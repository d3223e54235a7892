using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Broker.Testing;

/// <summary>
/// TCP ports for servers a test names before they bind (another process, a Redis node, a Kestrel told its URL). A port
/// asked of the kernel with port 0 comes from its ephemeral range, and once the probe closes it the kernel may hand it
/// to any process's next port-0 listener or outgoing connection: the test's server then fails to bind while another
/// test's server answers on that port in its place. So these come from below the ephemeral range, where only explicit
/// binds go: picked at random (test assemblies run in parallel, each with its own picks), never the same twice in one
/// process, and checked free by binding each on every address.
/// </summary>
public static class FreePorts
{
    private const int Lowest = 10_000;

    // Below every default ephemeral range: Linux's starts at 32768, the IANA range (macOS, Windows) at 49152.
    private const int DefaultEphemeralStart = 32_768;

    private static readonly int End = EphemeralStart();
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A port below the ephemeral range that nothing is bound to now and this process has not handed out before.</summary>
    /// <param name="below">Only ports below this (a Redis Cluster node's bus port is its port + 10000).</param>
    public static int Next(int below = int.MaxValue)
    {
        var end = Math.Min(End, below);
        if (end <= Lowest)
        {
            throw new ArgumentOutOfRangeException(nameof(below), below, $"Test ports are at or above {Lowest}.");
        }

        lock (HandedOut)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(Lowest, end);
                if (!HandedOut.Contains(port) && IsFree(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free TCP port between {Lowest} and {end} in 1,000 tries.");
    }

    /// <summary>Whether nothing is bound to <paramref name="port"/> on any address.</summary>
    public static bool IsFree(int port)
    {
        // The wildcard address conflicts with a listener on any address, loopback included.
        using var socket = Socket.OSSupportsIPv6
            ? new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true }
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of the kernel's ephemeral range, where it says (Linux); otherwise below every default one.</summary>
    private static int EphemeralStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var start = int.Parse(range[0], CultureInfo.InvariantCulture);
            return start > Lowest + 1_000 ? start : throw new InvalidOperationException(
                $"The ephemeral port range starts at {start}; test ports need room below it, above {Lowest}.");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return DefaultEphemeralStart;
        }
    }
}
