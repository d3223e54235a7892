namespace Broker.Grants.Redis;

internal static partial class RedisGrantScripts
{
    /// <summary>
    /// Appends an audit event. KEYS: audit stream. ARGV: document, MAXLEN, MINID, stream TTL ms.
    /// </summary>
    public static readonly RedisScript AppendAudit = new(AppendAuditText);

    private const string AppendAuditText = """
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
        redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;


    /// <summary>
    /// Whether entries after a reader's position may be gone. KEYS: stream. ARGV: the position. Returns 0 when the
    /// reader can resume without a loss: its entry is still in the stream (trimming removes the oldest first, so
    /// everything after it is retained), or it is the last generated ID of a stream whose entries were all trimmed,
    /// or it is <c>0-0</c> (handed out for a stream that did not exist yet) and the stream is still missing or was
    /// never trimmed. Anything else, including a stream recreated after the data was lost, returns 1.
    /// </summary>
    public static readonly RedisScript HistoryLost = new(HistoryLostText);

    private const string HistoryLostText = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          if ARGV[1] == '0-0' then
            return 0
          end
          return 1
        end
        if ARGV[1] ~= '0-0' and #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) > 0 then
          return 0
        end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        local fields = {}
        for i = 1, #info, 2 do
          fields[info[i]] = info[i + 1]
        end
        if ARGV[1] == '0-0' then
          if fields['entries-added'] and tonumber(fields['entries-added']) == tonumber(fields['length']) then
            return 0
          end
          return 1
        end
        if fields['length'] == 0 and fields['last-generated-id'] == ARGV[1] then
          return 0
        end
        return 1
        """;


    /// <summary>
    /// The newest position of a stream: its last generated ID, or <c>0-0</c> when it does not exist. KEYS: stream.
    /// </summary>
    public static readonly RedisScript NewestPosition = new(NewestPositionText);

    private const string NewestPositionText = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return '0-0'
        end
        local info = redis.call('XINFO', 'STREAM', KEYS[1])
        for i = 1, #info, 2 do
          if info[i] == 'last-generated-id' then
            return info[i + 1]
          end
        end
        return '0-0'
        """;

}
