using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broker.Subjects;

/// <summary>
/// The SHA-256 of a presented token: the validation cache key and the only form of a token that the
/// audit trail keeps.
/// </summary>
internal readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D)
{
    public static TokenHash Of(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var max = Encoding.UTF8.GetMaxByteCount(token.Length);
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var length = Encoding.UTF8.GetBytes(token, rented);
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(rented.AsSpan(0, length), hash);
            return new TokenHash(
                BinaryPrimitives.ReadUInt64BigEndian(hash),
                BinaryPrimitives.ReadUInt64BigEndian(hash[8..]),
                BinaryPrimitives.ReadUInt64BigEndian(hash[16..]),
                BinaryPrimitives.ReadUInt64BigEndian(hash[24..]));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Base64url of the 32 hash bytes.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[32];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, A);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], B);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[16..], C);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[24..], D);
        return Base64Url.EncodeToString(bytes);
    }
}
