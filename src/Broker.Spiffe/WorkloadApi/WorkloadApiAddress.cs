// Broker.Spiffe — SPIFFE for .NET.

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// Where the Workload API listens (SPIFFE Workload Endpoint §4; spec §1): <c>unix:///absolute/path</c>
/// or <c>tcp://IP:port</c>. Parsed strictly so a typo fails at start-up, not as a silent connection to somewhere else.
/// </summary>
public sealed class WorkloadApiAddress
{
    /// <summary>The environment variable that names the address when none is configured.</summary>
    public const string EnvironmentVariable = "SPIFFE_ENDPOINT_SOCKET";

    private readonly string _original;

    private WorkloadApiAddress(string original, EndPoint endPoint)
    {
        _original = original;
        EndPoint = endPoint;
    }

    /// <summary>The socket endpoint: a <see cref="UnixDomainSocketEndPoint"/> or an <see cref="IPEndPoint"/>.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>True for a Unix domain socket.</summary>
    public bool IsUnixSocket => EndPoint is UnixDomainSocketEndPoint;

    /// <summary>
    /// Parses an address. Unix: <c>unix:</c> followed by an absolute path, with an empty authority (<c>unix:///p</c>)
    /// or none (<c>unix:/p</c>); no host, query or fragment. TCP: <c>tcp://</c> + an IP literal (IPv6 in brackets)
    /// + <c>:port</c>; no host names, userinfo, path, query or fragment.
    /// </summary>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out WorkloadApiAddress? address, out string? error)
    {
        address = null;
        error = Validate(value, out var endPoint);
        if (error is not null)
        {
            return false;
        }

        address = new WorkloadApiAddress(value!, endPoint!);
        return true;
    }

    /// <summary>Parses an address from configuration.</summary>
    /// <exception cref="FormatException">The address is invalid; the message says why (prefixed <c>workloadapi:</c>).</exception>
    public static WorkloadApiAddress Parse(string value) =>
        TryParse(value, out var address, out var error) ? address : throw new FormatException(error);

    /// <summary>Reads <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    /// <exception cref="InvalidOperationException">The variable is unset or invalid.</exception>
    public static WorkloadApiAddress FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(value))
        {
            throw new InvalidOperationException($"workloadapi: no Workload API address configured and {EnvironmentVariable} is not set.");
        }

        return TryParse(value, out var address, out var error)
            ? address
            : throw new InvalidOperationException($"workloadapi: {EnvironmentVariable} is invalid: {error}");
    }

    /// <summary>Returns the address as given.</summary>
    public override string ToString() => _original;

    private static string? Validate(string? value, out EndPoint? endPoint)
    {
        endPoint = null;
        if (string.IsNullOrEmpty(value))
        {
            return "workloadapi: address is empty.";
        }

        if (value.AsSpan().IndexOfAny('?', '#') >= 0)
        {
            return "workloadapi: address must not have a query or fragment.";
        }

        if (value.StartsWith("unix:", StringComparison.Ordinal))
        {
            var rest = value["unix:".Length..];
            if (rest.StartsWith("//", StringComparison.Ordinal))
            {
                // An authority is present; only the empty one is allowed.
                rest = rest[2..];
                if (!rest.StartsWith('/'))
                {
                    return "workloadapi: unix address must not have an authority (use unix:///absolute/path).";
                }
            }

            if (!rest.StartsWith('/') || rest.Length == 1)
            {
                return "workloadapi: unix address needs an absolute socket path.";
            }

            string path;
            try
            {
                path = Uri.UnescapeDataString(rest);
            }
            catch (UriFormatException)
            {
                return "workloadapi: unix socket path has an invalid escape.";
            }

            endPoint = new UnixDomainSocketEndPoint(path);
            return null;
        }

        if (value.StartsWith("tcp://", StringComparison.Ordinal))
        {
            var rest = value["tcp://".Length..];
            if (rest.AsSpan().IndexOfAny('/', '@') >= 0)
            {
                return "workloadapi: tcp address must be tcp://IP:port with no userinfo or path.";
            }

            var colon = rest.LastIndexOf(':');
            if (colon <= 0)
            {
                return "workloadapi: tcp address needs a port.";
            }

            var host = rest[..colon];
            var portText = rest[(colon + 1)..];
            if (!ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                return "workloadapi: tcp address has an invalid port.";
            }

            if (!TryParseIpLiteral(host, out var ip))
            {
                return "workloadapi: tcp address host must be an IP address, not a name.";
            }

            endPoint = new IPEndPoint(ip, port);
            return null;
        }

        return "workloadapi: address scheme must be unix or tcp.";
    }

    private static bool TryParseIpLiteral(string host, [NotNullWhen(true)] out IPAddress? ip)
    {
        ip = null;
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            return IPAddress.TryParse(host[1..^1], out ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;
        }

        // Dotted-quad only: IPAddress.TryParse also takes "127.1" and hex forms, which no one means here.
        var parts = host.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit)))
        {
            return false;
        }

        return IPAddress.TryParse(host, out ip) && ip.AddressFamily == AddressFamily.InterNetwork;
    }
}
