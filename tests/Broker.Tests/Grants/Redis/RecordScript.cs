using System.Buffers.Binary;
using System.Text;
using Broker.Grants.Redis;
using StackExchange.Redis;

namespace Broker.Tests.Grants.Redis;

/// <summary>
/// What the Redis scripts do with a record, in C#, so the codec can be tested without a server: the record script's
/// numbering of strings in the tag's dictionary and its <c>cmsgpack.pack</c> of the record (with the status index and
/// the parent after the array), the link step that appends a child to a parent's record, and the read script's
/// lookup of the numbers. <c>cmsgpack</c>'s choices are mirrored byte for byte: smallest integer form, <c>str</c>
/// (never <c>bin</c>) for every Lua string, <c>false</c> for absent positions. <see cref="GoldenRecordTests"/> pins it
/// to what the real script writes.
/// </summary>
internal sealed class RecordScript(bool dictionaryFull = false)
{
    private readonly Dictionary<string, long> _numbers = new(StringComparer.Ordinal);
    private readonly Dictionary<long, byte[]> _strings = [];

    /// <summary>
    /// The record value the record script writes for <paramref name="args"/> (<see cref="IGrantRecordCodec.Encode"/>:
    /// positions 1 to 16, then the parent member), with the status index it allocated, and the consuming tenant of a
    /// shared grant (<see cref="RedisGrantRecordCodec.Consumer"/>, the script's last argument) as position 17.
    /// </summary>
    public byte[] Record(RedisValue[] args, int? statusIndex, RedisValue? consumer = null)
    {
        // As the script: the task's prefix is numbered first (only when its UUID was split off), then the positions
        // in order; optional positions are false when empty, and numbered otherwise.
        object task = args[7] == RedisValue.EmptyString ? Bytes(args[6]) : Intern(args[6]);
        List<object> record =
        [
            (long)args[0], (long)args[1], Intern(args[2]), Intern(args[3]), Optional(args[4], intern: true),
            Intern(args[5]), task, Optional(args[7], intern: false), Intern(args[8]), Intern(args[9]),
            Optional(args[10], intern: true), Optional(args[11], intern: true), Optional(args[12], intern: true),
            Optional(args[13], intern: true), Optional(args[14], intern: true), Optional(args[15], intern: true),
            Optional(consumer ?? RedisValue.EmptyString, intern: true),
        ];
        while (record.Count > 10 && record[^1] is false)
        {
            record.RemoveAt(record.Count - 1);
        }

        var writer = new Writer();
        writer.Array(record);
        if (statusIndex is { } index)
        {
            writer.Value((long)index);
        }

        if (args[16] != RedisValue.EmptyString)
        {
            writer.Value(Bytes(args[16]));
        }

        return writer.ToArray();
    }

    /// <summary>
    /// The parent's record after the record script linked <paramref name="childMember"/> to it: the record re-packed
    /// with its status index (if any), its own parent or false, and its children with this one appended.
    /// </summary>
    public static byte[] Link(byte[] parentRecord, int? statusIndex, string? parentMember, string children, string childMember)
    {
        var arrayLength = ArrayLength(parentRecord);
        var writer = new Writer();
        writer.Raw(parentRecord.AsSpan(0, arrayLength));
        if (statusIndex is { } index)
        {
            writer.Value((long)index);
        }

        writer.Value(parentMember is null ? false : Encoding.ASCII.GetBytes(parentMember));
        writer.Value(Encoding.ASCII.GetBytes(children + childMember));
        return writer.ToArray();
    }

    /// <summary>What the read script returns for a record: its strings for the numbered positions 3 to 17.</summary>
    public StoredGrant Read(byte[] record, string? mark = null)
    {
        var strings = new byte[]?[15];
        var reader = new Reader(record);
        var count = reader.ArrayHeader();
        for (var position = 1; position <= count; position++)
        {
            var value = reader.Value();
            if (position >= 3 && value is long number && position != 8)
            {
                strings[position - 3] = _strings.GetValueOrDefault(number);
            }
        }

        return new StoredGrant(record, strings, mark);
    }

    /// <summary>The dictionary's string for <paramref name="number"/>.</summary>
    public byte[] StringOf(long number) => _strings[number];

    private object Intern(RedisValue value)
    {
        var bytes = Bytes(value);
        if (dictionaryFull)
        {
            return bytes;
        }

        var key = Convert.ToBase64String(bytes);
        if (!_numbers.TryGetValue(key, out var number))
        {
            number = _numbers.Count + 1;
            _numbers[key] = number;
            _strings[number] = bytes;
        }

        return number;
    }

    private object Optional(RedisValue value, bool intern)
        => value == RedisValue.EmptyString ? false : intern ? Intern(value) : Bytes(value);

    private static byte[] Bytes(RedisValue value) => (byte[])value!;

    /// <summary>The length of the MessagePack array at the start of a record.</summary>
    private static int ArrayLength(byte[] record)
    {
        var reader = new Reader(record);
        var count = reader.ArrayHeader();
        for (var i = 0; i < count; i++)
        {
            reader.Value();
        }

        return reader.Position;
    }

    /// <summary>cmsgpack's encoder (lua_cmsgpack.c) for the values a record holds.</summary>
    internal sealed class Writer
    {
        private readonly List<byte> _bytes = [];

        public byte[] ToArray() => [.. _bytes];

        public void Raw(ReadOnlySpan<byte> bytes) => _bytes.AddRange(bytes.ToArray());

        public void Array(IReadOnlyList<object> values)
        {
            if (values.Count <= 15)
            {
                _bytes.Add((byte)(0x90 | values.Count));
            }
            else
            {
                _bytes.Add(0xdc);
                BigEndian((ulong)values.Count, 2);
            }

            foreach (var value in values)
            {
                Value(value);
            }
        }

        public void Value(object value)
        {
            switch (value)
            {
                case false:
                    _bytes.Add(0xc2);
                    break;
                case long n:
                    Integer(n);
                    break;
                case byte[] s:
                    String(s);
                    break;
                default:
                    throw new ArgumentException("Not a value a record holds.", nameof(value));
            }
        }

        private void Integer(long n)
        {
            switch (n)
            {
                case >= 0 and <= 127:
                    _bytes.Add((byte)n);
                    break;
                case >= 0 and <= 0xff:
                    _bytes.Add(0xcc);
                    BigEndian((ulong)n, 1);
                    break;
                case >= 0 and <= 0xffff:
                    _bytes.Add(0xcd);
                    BigEndian((ulong)n, 2);
                    break;
                case >= 0 and <= 0xffffffff:
                    _bytes.Add(0xce);
                    BigEndian((ulong)n, 4);
                    break;
                case >= 0:
                    _bytes.Add(0xcf);
                    BigEndian((ulong)n, 8);
                    break;
                case >= -32:
                    _bytes.Add((byte)(sbyte)n);
                    break;
                case >= -128:
                    _bytes.Add(0xd0);
                    BigEndian((ulong)n, 1);
                    break;
                case >= -32768:
                    _bytes.Add(0xd1);
                    BigEndian((ulong)n, 2);
                    break;
                case >= int.MinValue:
                    _bytes.Add(0xd2);
                    BigEndian((ulong)n, 4);
                    break;
                default:
                    _bytes.Add(0xd3);
                    BigEndian((ulong)n, 8);
                    break;
            }
        }

        private void String(byte[] s)
        {
            switch (s.Length)
            {
                case < 32:
                    _bytes.Add((byte)(0xa0 | s.Length));
                    break;
                case <= 0xff:
                    _bytes.Add(0xd9);
                    BigEndian((ulong)s.Length, 1);
                    break;
                case <= 0xffff:
                    _bytes.Add(0xda);
                    BigEndian((ulong)s.Length, 2);
                    break;
                default:
                    _bytes.Add(0xdb);
                    BigEndian((ulong)s.Length, 4);
                    break;
            }

            _bytes.AddRange(s);
        }

        private void BigEndian(ulong value, int length)
        {
            Span<byte> buffer = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
            _bytes.AddRange(buffer[(8 - length)..].ToArray());
        }
    }

    /// <summary>Just enough of a reader to find positions and the end of the array in what <see cref="Writer"/> wrote.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public int ArrayHeader()
        {
            var b = _data[Position++];
            return b == 0xdc ? (int)Big(2) : b & 0x0f;
        }

        public object Value()
        {
            var b = _data[Position++];
            return b switch
            {
                <= 0x7f => (long)b,
                0xc2 => false,
                >= 0xa0 and <= 0xbf => Bytes(b & 0x1f),
                0xd9 => Bytes((int)Big(1)),
                0xda => Bytes((int)Big(2)),
                0xdb => Bytes((int)Big(4)),
                0xcc => (long)Big(1),
                0xcd => (long)Big(2),
                0xce => (long)Big(4),
                0xcf => (long)Big(8),
                >= 0xe0 => (long)(sbyte)b,
                0xd0 => (long)(sbyte)Big(1),
                0xd1 => (long)(short)Big(2),
                0xd2 => (long)(int)Big(4),
                0xd3 => (long)Big(8),
                _ => throw new InvalidOperationException($"Unexpected MessagePack marker 0x{b:x2}."),
            };
        }

        private ulong Big(int length)
        {
            ulong value = 0;
            for (var i = 0; i < length; i++)
            {
                value = (value << 8) | _data[Position++];
            }

            return value;
        }

        private byte[] Bytes(int length)
        {
            var bytes = _data.Slice(Position, length).ToArray();
            Position += length;
            return bytes;
        }
    }
}
