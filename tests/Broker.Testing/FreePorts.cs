using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Broker.Testing;

/// <summary>
/// TCP ports for servers a test names before they bind (another process, a Redis node, a Kestrel told its URL), and for
/// ports a test needs nothing to listen on. A port asked of the kernel with port 0 comes from its ephemeral range, and
/// once the probe closes it the kernel may hand it to any process's next port-0 listener or outgoing connection: the
/// test's server then fails to bind while another test's server answers on that port in its place. So these come from
/// outside the ephemeral range, where only explicit binds go, picked at random; each is reserved for the life of the
/// test process by a lock on a file named after it (test assemblies run in parallel as separate processes), and
/// checked free by binding it on every address.
/// </summary>
public static class FreePorts
{
    private static readonly string ReservationDirectory = Path.Combine(Path.GetTempPath(), "broker-test-ports");

    // Held open (locked) until the process exits: the lock is what keeps the port this process's.
    private static readonly List<FileStream> Reservations = [];

    /// <summary>The ports handed out: at least 10000, outside the kernel's ephemeral range.</summary>
    public static (int Lowest, int End) Range { get; } = OutsideTheEphemeralRange();

    /// <summary>A port that nothing is bound to now and that no other caller, in this process or another, has been given.</summary>
    public static int Next()
    {
        Directory.CreateDirectory(ReservationDirectory);
        lock (Reservations)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(Range.Lowest, Range.End);
                if (Reserve(port) is { } reservation)
                {
                    if (IsFree(port))
                    {
                        Reservations.Add(reservation);
                        return port;
                    }

                    reservation.Dispose();
                }
            }
        }

        throw new InvalidOperationException($"No free TCP port between {Range.Lowest} and {Range.End} in 1,000 tries.");
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

    /// <summary>The port's lock file, opened exclusively (on Unix an advisory lock), or null while another process holds it.</summary>
    private static FileStream? Reserve(int port)
    {
        try
        {
            return new FileStream(
                Path.Combine(ReservationDirectory, port.ToString(CultureInfo.InvariantCulture)),
                FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Below the ephemeral range where there is room (Linux's starts at 32768, the IANA range of macOS and Windows at
    /// 49152), else above it.
    /// </summary>
    private static (int Lowest, int End) OutsideTheEphemeralRange()
    {
        const int lowest = 10_000, room = 1_000;
        var (start, end) = (32_768, 60_999);
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            (start, end) = (int.Parse(range[0], CultureInfo.InvariantCulture), int.Parse(range[1], CultureInfo.InvariantCulture));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // Not Linux: the default above is below every other system's range.
        }

        return start - lowest >= room ? (lowest, start)
            : 65_535 - end >= room ? (end + 1, 65_536)
            : throw new InvalidOperationException(
                $"The ephemeral port range {start}-{end} leaves no room for test ports (net.ipv4.ip_local_port_range).");
    }
}
