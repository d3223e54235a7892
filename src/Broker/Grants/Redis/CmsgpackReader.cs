using System.Buffers.Binary;

namespace Broker.Grants.Redis;

/// <summary>
/// Reads the MessagePack subset that Redis's <c>cmsgpack.pack</c> writes for a grant record
/// (<see cref="RedisGrantRecordCodec"/>): integers, strings, false, one array.
/// </summary>
/// <remarks>Bounds-checked: a value cut short, or a length past the end, is malformed, never an index error.</remarks>
internal ref struct CmsgpackReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly bool AtEnd => _position >= _data.Length;

    public int ReadArrayHeader()
    {
        var b = ReadByte();
        return b switch
        {
            >= 0x90 and <= 0x9f => b & 0x0f,
            0xdc => (int)ReadBigEndian(2),
            _ => throw RedisGrantRecordCodec.Malformed(),
        };
    }

    /// <summary>A long, a byte[] (string), or null (false or nil).</summary>
    public object? ReadValue()
    {
        var b = ReadByte();
        return b switch
        {
            <= 0x7f => (long)b,
            >= 0xa0 and <= 0xbf => ReadBytes((ulong)(b & 0x1f)),
            0xc0 or 0xc2 => null,
            0xcc => (long)ReadBigEndian(1),
            0xcd => (long)ReadBigEndian(2),
            0xce => (long)ReadBigEndian(4),
            0xcf => ReadBigEndian(8) is var value and <= long.MaxValue ? (long)value : throw RedisGrantRecordCodec.Malformed(),
            >= 0xe0 => (long)(sbyte)b,
            0xd0 => (long)(sbyte)ReadBigEndian(1),
            0xd1 => (long)(short)ReadBigEndian(2),
            0xd2 => (long)(int)ReadBigEndian(4),
            0xd3 => (long)ReadBigEndian(8),
            0xd9 or 0xc4 => ReadBytes(ReadBigEndian(1)),
            0xda or 0xc5 => ReadBytes(ReadBigEndian(2)),
            0xdb or 0xc6 => ReadBytes(ReadBigEndian(4)),
            _ => throw RedisGrantRecordCodec.Malformed(),
        };
    }

    private byte ReadByte() => _position < _data.Length ? _data[_position++] : throw RedisGrantRecordCodec.Malformed();

    private ulong ReadBigEndian(int length)
    {
        if (_data.Length - _position < length)
        {
            throw RedisGrantRecordCodec.Malformed();
        }

        Span<byte> buffer = stackalloc byte[8];
        buffer.Clear();
        _data.Slice(_position, length).CopyTo(buffer[(8 - length)..]);
        _position += length;
        return BinaryPrimitives.ReadUInt64BigEndian(buffer);
    }

    private byte[] ReadBytes(ulong length)
    {
        if ((ulong)(_data.Length - _position) < length)
        {
            throw RedisGrantRecordCodec.Malformed();
        }

        var bytes = _data.Slice(_position, (int)length).ToArray();
        _position += (int)length;
        return bytes;
    }
}
