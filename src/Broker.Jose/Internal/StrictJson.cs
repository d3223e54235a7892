// Broker.Jose — the strict compact-JWS gate.

using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace Broker.Jose.Internal;

/// <summary>
/// Checks that a decoded JOSE header or JWT payload is exactly one JSON object (RFC 8259) in UTF-8, with no member
/// name repeated in any object at any depth, and nothing after it. What passes here every JSON parser reads alike.
/// </summary>
/// <remarks>
/// One forward pass with <see cref="Utf8JsonReader"/>; member names are kept (unescaped) in pooled buffers per open
/// object and compared when the object closes: pairwise for small objects, by sorting hashes for large ones, so a
/// hostile object with thousands of members costs O(n log n), not O(n²).
/// </remarks>
internal static class StrictJson
{
    /// <summary>Nesting deeper than this is refused; no token we read needs a tenth of it.</summary>
    public const int MaxDepth = 32;

    private const int PairwiseLimit = 16;

    /// <summary>Reader options shared by every pass over validated JSON, so later passes cannot fail where this one passed.</summary>
    public static readonly JsonReaderOptions ReaderOptions = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    public static JwsError Validate(ReadOnlySpan<byte> utf8)
    {
        // Invalid UTF-8 is refused outright: parsers differ in how they repair it (RFC 8259 §8.1).
        // The first byte must open the object: no byte order mark, no leading whitespace.
        if (utf8.IsEmpty || utf8[0] != (byte)'{' || !Utf8.IsValid(utf8))
        {
            return JwsError.InvalidJson;
        }

        var names = new NameTable(utf8.Length);
        try
        {
            var reader = new Utf8JsonReader(utf8, ReaderOptions);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        names.Open();
                        break;
                    case JsonTokenType.EndObject:
                        if (!names.Close())
                        {
                            return JwsError.DuplicateMember;
                        }

                        if (reader.CurrentDepth == 0)
                        {
                            // RFC 7515 §5.2 and RFC 7519 §7.2 decode "a JSON object": anything after it, even
                            // whitespace, is refused, so no two parsers can disagree on where the JSON ends.
                            return reader.BytesConsumed == utf8.Length ? JwsError.None : JwsError.TrailingData;
                        }

                        break;
                    case JsonTokenType.PropertyName:
                        names.Add(ref reader);
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        // An escaped lone surrogate ("\ud800") is valid JSON syntax but no string: unescape once
                        // here so no later reader throws on it.
                        names.CheckUnescapes(ref reader);
                        break;
                }
            }

            return JwsError.InvalidJson;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return JwsError.InvalidJson;
        }
        finally
        {
            names.Dispose();
        }
    }

    /// <summary>The member names of the open objects, innermost last.</summary>
    private ref struct NameTable
    {
        private byte[] _bytes;
        private Entry[] _entries;
        private int _byteCount;
        private int _entryCount;
        private (int Entries, int Bytes)[] _levels;
        private int _depth;

        public NameTable(int maxBytes)
        {
            _bytes = ArrayPool<byte>.Shared.Rent(Math.Max(maxBytes, 16));
            _entries = ArrayPool<Entry>.Shared.Rent(32);
            _levels = ArrayPool<(int, int)>.Shared.Rent(MaxDepth + 2);
        }

        public void Open() => _levels[_depth++] = (_entryCount, _byteCount);

        public void Add(ref Utf8JsonReader reader)
        {
            // Compare names as their unescaped bytes: "exp" and "\u0065xp" are the same member.
            var destination = _bytes.AsSpan(_byteCount);
            var length = reader.ValueIsEscaped ? reader.CopyString(destination) : Copy(reader.ValueSpan, destination);
            if (_entryCount == _entries.Length)
            {
                var larger = ArrayPool<Entry>.Shared.Rent(_entries.Length * 2);
                _entries.AsSpan(0, _entryCount).CopyTo(larger);
                ArrayPool<Entry>.Shared.Return(_entries);
                _entries = larger;
            }

            var hash = default(HashCode);
            hash.AddBytes(destination[..length]);
            _entries[_entryCount++] = new Entry(hash.ToHashCode(), _byteCount, length);
            _byteCount += length;
        }

        public readonly void CheckUnescapes(ref Utf8JsonReader reader)
        {
            // Unescaped text is never longer than its escaped form, and the name bytes in use leave room for it
            // only if we do not overwrite them: use the tail of the buffer past the names in use.
            var scratch = _bytes.AsSpan(_byteCount);
            if (scratch.Length >= reader.ValueSpan.Length)
            {
                reader.CopyString(scratch);
            }
            else
            {
                _ = reader.GetString();
            }
        }

        /// <summary>Closes the innermost object; false when two of its members share a name.</summary>
        public bool Close()
        {
            var (first, bytes) = _levels[--_depth];
            var members = _entries.AsSpan(first, _entryCount - first);
            var unique = members.Length <= PairwiseLimit ? PairwiseUnique(members) : SortedUnique(members);
            _entryCount = first;
            _byteCount = bytes;
            return unique;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            ArrayPool<Entry>.Shared.Return(_entries);
            ArrayPool<(int, int)>.Shared.Return(_levels);
        }

        private readonly bool PairwiseUnique(ReadOnlySpan<Entry> members)
        {
            for (var i = 1; i < members.Length; i++)
            {
                for (var j = 0; j < i; j++)
                {
                    if (Same(members[i], members[j]))
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        private readonly bool SortedUnique(Span<Entry> members)
        {
            members.Sort(new ByHashThenBytes(_bytes));
            for (var i = 1; i < members.Length; i++)
            {
                if (Same(members[i], members[i - 1]))
                {
                    return false;
                }
            }

            return true;
        }

        private readonly bool Same(Entry a, Entry b) =>
            a.Hash == b.Hash && _bytes.AsSpan(a.Start, a.Length).SequenceEqual(_bytes.AsSpan(b.Start, b.Length));

        private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
        {
            source.CopyTo(destination);
            return source.Length;
        }
    }

    private readonly record struct Entry(int Hash, int Start, int Length);

    private readonly struct ByHashThenBytes(byte[] bytes) : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y)
        {
            var byHash = x.Hash.CompareTo(y.Hash);
            return byHash != 0 ? byHash : bytes.AsSpan(x.Start, x.Length).SequenceCompareTo(bytes.AsSpan(y.Start, y.Length));
        }
    }
}
