using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace Broker.Grants;

/// <summary>
/// The stored form of a grant in Redis: a MessagePack array that the record script builds (<c>cmsgpack.pack</c>)
/// after replacing repeated strings by small integers from the tag's string dictionary. Redis's Lua embeds
/// <c>cmsgpack</c> and <c>cjson</c> but no CBOR library, and the record and revoke scripts must read and write the
/// record themselves, so the format is MessagePack and the reader below is the small subset those scripts emit.
/// </summary>
/// <remarks>
/// Positions (1-based, as in Lua): 1 dictionary (0 or 1), 2 expiry (Unix ms), 3 lifetime (ms), 4 tenant, 5 subject,
/// 6 client (false: the subject), 7 actor chain, 8 capabilities (both space-separated, false: none), 9 audience,
/// 10 task, 11 purpose, 12 policy version, 13 <c>jkt</c> and 14 <c>x5t#S256</c> as their 32 decoded bytes, 15 and
/// 16 the same two as text when they are not canonical base64url of 32 bytes, 17 parent grant ID. Positions 4–16
/// but 10 hold either a dictionary number or, when the dictionary is full, the string itself (a workload's
/// proof-of-possession key and certificate serve many grants, like its subject); trailing
/// absent positions (false) are left out. The grant ID is the key. Keep in step with <see cref="RedisGrantScripts"/>.
/// Records written before this format are compact JSON (<see cref="GrantDocument"/>, first byte <c>{</c>) and
/// are still read until they expire.
/// </remarks>
internal static class RedisGrantRecordFormat
{
    /// <summary>Record positions whose value may be a dictionary number: 4 to 16 except the task (10).</summary>
    public const int FirstInterned = 4;
    public const int LastInterned = 16;
    private const int TaskPosition = 10;

    /// <summary>The ARGV values for record positions 3 to 17 (lifetime onwards), "" for absent.</summary>
    public static RedisValue[] Fields(GrantRecord grant)
    {
        var jkt = grant.Binding?.JwkThumbprint;
        var x5t = grant.Binding?.X509Thumbprint;
        return
        [
            grant.ExpiresAt.ToUnixTimeMilliseconds() - grant.IssuedAt.ToUnixTimeMilliseconds(),
            grant.Tenant,
            grant.Subject,
            string.Equals(grant.ClientId, grant.Subject, StringComparison.Ordinal) ? string.Empty : grant.ClientId,
            Join(grant.ActorChain),
            Join(grant.Capabilities),
            grant.Audience,
            grant.TaskId,
            grant.Purpose,
            grant.PolicyVersion,
            Thumbprint(jkt) is { } jktBytes ? jktBytes : RedisValue.EmptyString,
            Thumbprint(x5t) is { } x5tBytes ? x5tBytes : RedisValue.EmptyString,
            jkt is not null && Thumbprint(jkt) is null ? jkt : string.Empty,
            x5t is not null && Thumbprint(x5t) is null ? x5t : string.Empty,
            grant.ParentGrantId ?? string.Empty,
        ];
    }

    /// <summary>
    /// Decodes a record. <paramref name="names"/> holds, for positions 4 to 12, the dictionary string of each
    /// position that holds a number (the read and revoke scripts look them up in the same atomic step).
    /// </summary>
    public static GrantRecord Decode(string id, byte[] document, RedisResult[] names, GrantRevocation? revocation)
    {
        var reader = new Reader(document);
        var count = reader.ReadArrayHeader();
        var values = new object?[17];
        for (var i = 0; i < count && i < values.Length; i++)
        {
            values[i] = reader.ReadValue();
        }

        byte[]? Bytes(int position)
        {
            return values[position - 1] switch
            {
                null => null,
                byte[] bytes => bytes,
                long when position is >= FirstInterned and <= LastInterned and not TaskPosition
                    => (byte[]?)names[position - FirstInterned] ?? throw new InvalidOperationException("A stored grant refers to a missing dictionary entry."),
                _ => throw new InvalidOperationException("A stored grant is malformed."),
            };
        }

        string? Text(int position) => Bytes(position) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;

        long Number(int position) => values[position - 1] as long? ?? throw new InvalidOperationException("A stored grant is malformed.");

        string? Binary(int raw, int text) => Bytes(raw) is { } bytes ? Base64Url.EncodeToString(bytes) : Text(text);

        var expiry = Number(2);
        var subject = Text(5) ?? string.Empty;
        var jkt = Binary(13, 15);
        var x5t = Binary(14, 16);
        return new GrantRecord
        {
            Id = id,
            Tenant = Text(4) ?? string.Empty,
            Subject = subject,
            ClientId = Text(6) ?? subject,
            ActorChain = Split(Text(7)),
            Capabilities = Split(Text(8)),
            Audience = Text(9) ?? string.Empty,
            TaskId = Text(10) ?? string.Empty,
            Purpose = Text(11) ?? string.Empty,
            IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry - Number(3)),
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry),
            Binding = jkt is null && x5t is null ? null : new GrantBinding(jkt, x5t),
            PolicyVersion = Text(12) ?? string.Empty,
            ParentGrantId = Text(17),
            Status = revocation is null ? GrantStatus.Active : GrantStatus.Revoked,
            Revocation = revocation,
        };
    }

    /// <summary>Space-joined, as in the token's <c>scope</c>; "" when empty.</summary>
    internal static string Join(IReadOnlyList<string> values)
    {
        foreach (var value in values)
        {
            if (value.Length == 0 || value.Contains(' ', StringComparison.Ordinal))
            {
                throw new ArgumentException("Capabilities and actor identities are non-empty and contain no spaces.", nameof(values));
            }
        }

        return string.Join(' ', values);
    }

    private static string[] Split(string? joined) => string.IsNullOrEmpty(joined) ? [] : joined.Split(' ');

    /// <summary>
    /// The 32 bytes of a SHA-256 thumbprint in base64url (RFC 7638, RFC 8705), or null when it is anything else:
    /// 32 bytes instead of 43 characters, and only when encoding them again gives back exactly the same text.
    /// </summary>
    private static byte[]? Thumbprint(string? value)
    {
        if (value is not { Length: 43 })
        {
            return null;
        }

        var bytes = new byte[32];
        return Base64Url.DecodeFromChars(value, bytes, out var consumed, out var written) == System.Buffers.OperationStatus.Done
            && consumed == 43 && written == 32
            && string.Equals(Base64Url.EncodeToString(bytes), value, StringComparison.Ordinal) ? bytes : null;
    }

    /// <summary>The MessagePack subset <c>cmsgpack.pack</c> writes for a record: integers, strings, false, arrays.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public int ReadArrayHeader()
        {
            var b = _data[_position++];
            return b switch
            {
                >= 0x90 and <= 0x9f => b & 0x0f,
                0xdc => (int)ReadBigEndian(2),
                _ => throw new InvalidOperationException("A stored grant is malformed."),
            };
        }

        /// <summary>A long, a byte[] (string), or null (false or nil).</summary>
        public object? ReadValue()
        {
            var b = _data[_position++];
            return b switch
            {
                <= 0x7f => (long)b,
                >= 0xa0 and <= 0xbf => ReadBytes(b & 0x1f),
                0xc0 or 0xc2 => null,
                0xcc => (long)ReadBigEndian(1),
                0xcd => (long)ReadBigEndian(2),
                0xce => (long)ReadBigEndian(4),
                0xcf => (long)ReadBigEndian(8),
                0xd9 or 0xc4 => ReadBytes((int)ReadBigEndian(1)),
                0xda or 0xc5 => ReadBytes((int)ReadBigEndian(2)),
                0xdb or 0xc6 => ReadBytes((int)ReadBigEndian(4)),
                _ => throw new InvalidOperationException("A stored grant is malformed."),
            };
        }

        private ulong ReadBigEndian(int length)
        {
            Span<byte> buffer = stackalloc byte[8];
            buffer.Clear();
            _data.Slice(_position, length).CopyTo(buffer[(8 - length)..]);
            _position += length;
            return BinaryPrimitives.ReadUInt64BigEndian(buffer);
        }

        private byte[] ReadBytes(int length)
        {
            var bytes = _data.Slice(_position, length).ToArray();
            _position += length;
            return bytes;
        }
    }
}
