using System.Net;
using System.Net.Sockets;

namespace Broker.RateLimiting;

/// <summary>
/// A client address as limits count it: an IPv4 address, or the /64 of an IPv6 one. One IPv6 host
/// commonly holds a whole /64, so counting single IPv6 addresses would give it 2^64 budgets.
/// </summary>
internal readonly record struct AddressKey(UInt128 Value)
{
    /// <summary>Requests without an address (not over TCP) share one key.</summary>
    public static AddressKey Unknown => default;

    public static AddressKey From(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return new AddressKey((UInt128)0xFFFF_0000_0000 | ((UInt128)bytes[0] << 24) | ((UInt128)bytes[1] << 16) | ((UInt128)bytes[2] << 8) | bytes[3]);
        }

        address.TryWriteBytes(bytes, out _);
        UInt128 prefix = 0;
        for (var i = 0; i < 8; i++)
        {
            prefix = (prefix << 8) | bytes[i];
        }

        // The low bit keeps every IPv6 key apart from the IPv4 ones and from Unknown, ::/64 included.
        return new AddressKey((prefix << 64) | 1);
    }

    /// <summary>Parses the address text an exchange records (<see cref="Exchange.ExchangeCaller.Address"/>).</summary>
    public static AddressKey From(string? address) =>
        IPAddress.TryParse(address, out var parsed) ? From(parsed) : Unknown;
}
