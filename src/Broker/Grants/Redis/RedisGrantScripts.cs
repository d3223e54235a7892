namespace Broker.Grants.Redis;

/// <summary>
/// The Lua scripts of the Redis grant store. A script runs atomically: no other command runs between its first
/// and last call (EVAL semantics), and replicas and the AOF receive its effects as one MULTI/EXEC. That is what
/// makes "record a grant and its audit event" and "revoke a grant with its descendants, append to the stream,
/// announce" single steps. Every key a script touches shares one hash tag, so each script runs on one Redis Cluster
/// slot; all are passed in KEYS but the descendants the revoke script discovers as it walks. Times come from the
/// caller's <see cref="TimeProvider"/>, not from Redis TIME, so scripts stay deterministic. Each is a
/// <see cref="RedisScript"/>: sent by its SHA-1 (EVALSHA), and as text only to a server that answers NOSCRIPT.
/// </summary>
/// <remarks>
/// One file per concern, next to the class that runs its scripts: <c>.Records</c> (<see cref="Record"/>,
/// <see cref="Read"/>), <c>.Revocations</c> (<see cref="Revoke"/>), <c>.Listing</c> (<see cref="Page"/>), <c>.Streams</c>
/// (<see cref="AppendAudit"/>, <see cref="HistoryLost"/>, <see cref="NewestPosition"/>); this one holds the Lua
/// functions several scripts share. C# constants rather than <c>.lua</c> files: the shared functions are prepended by
/// concatenation, and each script keeps its KEYS and ARGV contract in the documentation beside it.
/// </remarks>
internal static partial class RedisGrantScripts
{
    /// <summary>
    /// The expiry of a stored record value, read at <c>now</c>, and its dictionary key (KEYS[first] or
    /// KEYS[first + 1]): Lua for <see cref="RedisGrantRecordCodec.Expiry"/> and
    /// <see cref="RedisGrantRecordCodec.DictionaryNumber"/>. Lua numbers are doubles, exact far beyond these values.
    /// </summary>
    private const string ExpiryFunctions = """
        local function expiryOf(stored, now)
          if stored >= 4294967296 then
            return stored
          end
          local difference = (stored - now) % 4294967296
          if difference >= 2147483648 then
            difference = difference - 4294967296
          end
          return now + difference
        end
        local function dictionaryOf(expiry, first)
          return KEYS[first + math.floor(expiry / 3600000) % 2]
        end

        """;


    /// <summary>
    /// The values of a stored record (<see cref="RedisGrantRecordCodec"/>) and back: the array, then the status index
    /// when there is one (a number), the parent's tag-less ID or false, and the children it holds ('' for none).
    /// Records written with the status list off have no number after the array.
    /// </summary>
    private const string RecordFunctions = """
        local function split(document)
          local values = {cmsgpack.unpack(document)}
          if type(values[2]) == 'number' then
            return values[1], values[2], values[3] or false, values[4] or ''
          end
          return values[1], nil, values[2] or false, values[3] or ''
        end
        local function join(array, index, parent, children)
          if index then
            return cmsgpack.pack(array, index, parent, children)
          end
          return cmsgpack.pack(array, parent, children)
        end

        """;


    /// <summary>
    /// The key of the bucket of expiry <c>name</c> (Unix ms, as digits) of a tenant's index
    /// (<see cref="RedisGrantKeys.IndexBucket"/>): the directory's name with the expiry after its two-letter kind
    /// (<c>{p}{tag}:tb:acme</c> → <c>{p}{tag}:tb1764679000000:acme</c>), given the tag's key base
    /// (<see cref="RedisGrantKeys.TagBase"/>).
    /// </summary>
    private const string BucketFunctions = """
        local function bucketOf(directory, base, name)
          return string.sub(directory, 1, #base + 2) .. name .. string.sub(directory, #base + 3)
        end

        """;

    /// <summary>
    /// The key of chunk <c>name</c> of a chunked index (a subject's, and the legacy tenant index older replicas write:
    /// <see cref="RedisGrantKeys.IndexChunk"/>): the directory's name with the chunk's name after its one-letter kind
    /// (<c>{p}{tag}:t:acme</c> → <c>{p}{tag}:t7:acme</c>). A directory's kind is followed by a colon, a chunk's by digits
    /// and a bucket's by a second letter, so no chunk name is another key's name.
    /// </summary>
    private const string ChunkFunctions = """
        local function chunkOf(directory, base, name)
          return string.sub(directory, 1, #base + 1) .. name .. string.sub(directory, #base + 2)
        end

        """;

}
