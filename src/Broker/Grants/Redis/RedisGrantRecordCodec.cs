using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The stored form of a grant in Redis (<see cref="IGrantRecordCodec"/>): a MessagePack array that the record script
/// builds (<c>cmsgpack.pack</c>)
/// after replacing repeated strings by small integers from the tag's string dictionary. Redis's Lua embeds
/// <c>cmsgpack</c> and <c>cjson</c> but no CBOR library, and the record and revoke scripts must read and write the
/// record themselves, so the format is MessagePack and the reader below is the small subset those scripts emit.
/// </summary>
/// <remarks>
/// Positions (1-based, as in Lua): 1 expiry (<see cref="StoredExpiry"/>), 2 lifetime (<see cref="StoredLifetime"/>),
/// 3 tenant, 4 subject, 5 capabilities (space-separated, false: none), 6 audience, 7 task, or the part of it before
/// a UUID that ends it, 8 that UUID as 16 bytes (<see cref="SplitTask"/>), 9 purpose, 10 policy version, 11
/// <c>jkt</c> as its 32 decoded bytes, 12 actor chain (space-separated), 13 client (absent: the current actor when
/// delegated, else the subject), 14 <c>x5t#S256</c> as its 32 bytes, 15 and 16 the two thumbprints as text when they
/// are not canonical base64url of 32 bytes, 17 the consuming tenant of a grant shared across tenants (the record
/// script takes it from the last ARGV, <see cref="Consumer"/>). Positions 3 to 17 but 8 hold either a number of the
/// dictionary <see cref="DictionaryNumber"/> picks or, when the dictionary is full, the string itself (a workload's
/// proof-of-possession key and certificate serve many grants, like its subject); the task only when split. Absent
/// positions are false, and trailing ones are left out: the rarer a member, the later it comes. The grant ID is
/// the key.
/// <para>
/// With the status list on, the grant's index in its tenant's list follows the array (a MessagePack integer: 1 to 5
/// bytes). Two more MessagePack values may follow, for a family of grants (re-exchange, delegation): the parent's
/// ID without its routing tag, which is this grant's (false when none), then the IDs of the first
/// <see cref="InlineChildren"/> grants derived from this one, tag-less too, one after the other
/// (<see cref="MemberLength"/> characters each; the record script appends them, later ones go to
/// <see cref="RedisGrantKeys.Children"/>). After the array rather than in it, so a grant pays no padding of absent
/// positions for them: the value of a parent with one child, or of a child, stays within 64 bytes.
/// </para>
/// <para>
/// A revocation mark is compact JSON written by the revoke script: <c>at</c> (Unix ms), <c>by</c>, <c>why</c>.
/// </para>
/// Keep in step with <see cref="RedisGrantScripts"/>.
/// </remarks>
internal sealed class RedisGrantRecordCodec(TimeSpan retention) : IGrantRecordCodec
{
    /// <summary>Record positions whose value may be a dictionary number: 3 to 16 except the task's UUID (8).</summary>
    public const int FirstInterned = 3;
    public const int LastInterned = 17;
    private const int TaskUuidPosition = 8;
    private const int Positions = 17;

    /// <summary>Positions the record script always writes (it leaves out only absent trailing ones past these).</summary>
    private const int RequiredPositions = 10;

    /// <summary>Most MessagePack values after the array: the status index, the parent, the children.</summary>
    private const int MaxTrailingValues = 3;

    private const int ThumbprintLength = 32;

    /// <summary>
    /// How many children a record holds itself (after the array): 22 bytes each in a value that exists anyway, against
    /// about 180 bytes for a key of its own. Past them the record script appends to the grant's children key, so that
    /// neither the record a re-exchange reads nor the one the script rewrites grows without bound.
    /// </summary>
    public const int InlineChildren = 8;

    /// <summary>Length of a grant ID without its routing tag and dot, as children and index members are stored.</summary>
    public const int MemberLength = 22;
    private const int UuidLength = 36;

    /// <summary>2^32: expiries stored below it are the low 32 bits of the expiry (<see cref="StoredExpiry"/>).</summary>
    private const long Modulus = 1L << 32;

    /// <summary>
    /// How long a dictionary takes new strings before the other one takes over. The idle one expires once the last
    /// record that refers to it has, so strings no longer used (old policy versions, departed workloads) go away;
    /// if it has not expired when its turn comes again, it is reused as it is (its numbers never change).
    /// </summary>
    private static readonly long DictionaryPeriodMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;

    /// <summary>UTF-8 that refuses invalid bytes instead of replacing them: stored text is what .NET wrote.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private readonly long _retention = (long)retention.TotalMilliseconds;

    /// <summary>
    /// The dictionary (0 or 1) of a record: by the hour of its expiry, so the record need not say which. The scripts
    /// compute the same.
    /// </summary>
    public static int DictionaryNumber(long expiry) => (int)(expiry / DictionaryPeriodMs % 2);

    /// <summary>
    /// The expiry as stored: its low 32 bits (5 bytes instead of 9) when every reader sees the record within 2^30 ms
    /// (12 days) of the expiry — it lives from now to expiry + retention — so the expiry is the value congruent to it
    /// nearest to the reader's clock, whatever the clock skew between replicas; the whole expiry otherwise (it is
    /// above 2^32, so the two never mix up).
    /// </summary>
    public static long StoredExpiry(long expiry, long now, long retention)
        => expiry - now + retention < (1L << 30) ? expiry % Modulus : expiry;

    /// <summary>The expiry of a stored value, read at <paramref name="now"/>.</summary>
    public static long Expiry(long stored, long now)
    {
        if (stored >= Modulus)
        {
            return stored;
        }

        var difference = (((stored - now) % Modulus) + Modulus) % Modulus;
        return now + (difference >= Modulus / 2 ? difference - Modulus : difference);
    }

    /// <summary>Whole seconds as their negation (600 s: 3 bytes instead of 5), other lifetimes in ms.</summary>
    public static long StoredLifetime(long lifetime) => lifetime > 0 && lifetime % 1000 == 0 ? -(lifetime / 1000) : lifetime;

    /// <summary>
    /// A task ID that ends in a UUID in its canonical lowercase form (<c>task-3f2a…</c>, or a bare UUID, as agent
    /// frameworks name runs): the part before it, and its 16 bytes instead of 36 characters. Null for anything else,
    /// or when formatting the bytes would not give back exactly the same text.
    /// </summary>
    public static (string Prefix, byte[] Uuid)? SplitTask(string taskId)
    {
        if (taskId.Length < UuidLength
            || !Guid.TryParseExact(taskId.AsSpan(taskId.Length - UuidLength), "D", out var uuid)
            || !string.Equals(uuid.ToString("D"), taskId[^UuidLength..], StringComparison.Ordinal))
        {
            return null;
        }

        var bytes = new byte[16];
        uuid.TryWriteBytes(bytes, bigEndian: true, out _);
        return (taskId[..^UuidLength], bytes);
    }

    /// <summary>
    /// Record position 17, the consuming tenant of a shared grant ("" for none). Passed as the script's last ARGV rather
    /// than among positions 1 to 16 of <see cref="Encode"/>, so that no other argument moves.
    /// </summary>
    public static RedisValue Consumer(GrantRecord grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return grant.ConsumerTenant ?? string.Empty;
    }

    /// <inheritdoc />
    public RedisValue[] Encode(GrantRecord grant, long now)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var expiry = grant.ExpiresAt.ToUnixTimeMilliseconds();
        var jkt = grant.Binding?.JwkThumbprint;
        var x5t = grant.Binding?.X509Thumbprint;
        var defaultClient = grant.ActorChain.Count > 0 ? grant.ActorChain[0] : grant.Subject;
        var task = SplitTask(grant.TaskId);
        return
        [
            StoredExpiry(expiry, now, _retention),
            StoredLifetime(expiry - grant.IssuedAt.ToUnixTimeMilliseconds()),
            grant.Tenant,
            grant.Subject,
            Join(grant.Capabilities),
            grant.Audience,
            task is { } split ? split.Prefix : grant.TaskId,
            task is { } uuid ? uuid.Uuid : RedisValue.EmptyString,
            grant.Purpose,
            grant.PolicyVersion,
            Thumbprint(jkt) is { } jktBytes ? jktBytes : RedisValue.EmptyString,
            Join(grant.ActorChain),
            string.Equals(grant.ClientId, defaultClient, StringComparison.Ordinal) ? string.Empty : grant.ClientId,
            Thumbprint(x5t) is { } x5tBytes ? x5tBytes : RedisValue.EmptyString,
            jkt is not null && Thumbprint(jkt) is null ? jkt : string.Empty,
            x5t is not null && Thumbprint(x5t) is null ? x5t : string.Empty,
            grant.ParentGrantId is { } parent ? RedisGrantKeys.IndexMember(parent) : string.Empty,
        ];
    }

    /// <inheritdoc />
    public GrantRecord Decode(string grantId, StoredGrant stored, long now)
    {
        ArgumentNullException.ThrowIfNull(grantId);
        ArgumentNullException.ThrowIfNull(stored.Strings);
        try
        {
            return DecodeRecord(grantId, stored, now);
        }
        catch (Exception e) when (e is DecoderFallbackException or ArgumentOutOfRangeException or OverflowException)
        {
            // Text that is not UTF-8, or times and lifetimes out of range: not what the record script writes.
            throw Malformed(e);
        }
    }

    /// <inheritdoc />
    public GrantRevocation DecodeRevocation(string mark) => ParseRevocation(mark);

    private static GrantRevocation ParseRevocation(string mark)
    {
        ArgumentNullException.ThrowIfNull(mark);
        RevocationDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(mark, GrantsJsonContext.Compact.RevocationDocument);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException("A stored revocation is malformed.", e);
        }

        if (document is null || document.RevokedBy.Length == 0 || document.RevokedAt < 0 || document.RevokedAt > MaxUnixMilliseconds)
        {
            throw new InvalidOperationException("A stored revocation is malformed.");
        }

        return new GrantRevocation(DateTimeOffset.FromUnixTimeMilliseconds(document.RevokedAt), document.RevokedBy, document.Reason);
    }

    private static GrantRecord DecodeRecord(string id, StoredGrant stored, long now)
    {
        var reader = new CmsgpackReader(stored.Record.Span);
        var count = reader.ReadArrayHeader();
        if (count is < RequiredPositions or > Positions)
        {
            throw Malformed();
        }

        var values = new object?[Positions];
        for (var i = 0; i < count; i++)
        {
            values[i] = reader.ReadValue();
        }

        // After the array: the status index when there is one (a number), then for a family the parent's tag-less ID
        // (or false), then the children.
        List<object?> trailing = [];
        while (!reader.AtEnd)
        {
            trailing.Add(trailing.Count < MaxTrailingValues ? reader.ReadValue() : throw Malformed());
        }

        var next = 0;
        int? statusIndex = null;
        if (next < trailing.Count && trailing[next] is long index)
        {
            statusIndex = index is >= 0 and <= int.MaxValue ? (int)index : throw Malformed();
            next++;
        }

        string? parentGrantId = null;
        if (next < trailing.Count)
        {
            if (trailing[next] is byte[] member)
            {
                parentGrantId = member.Length == MemberLength
                    ? string.Concat(id.AsSpan(0, GrantId.RoutingTagLength + 1), Encoding.ASCII.GetString(member))
                    : throw Malformed();
                if (!GrantId.IsWellFormed(parentGrantId))
                {
                    throw Malformed();
                }
            }
            else if (trailing[next] is not null)
            {
                throw Malformed();
            }

            next++;
        }

        if (next < trailing.Count)
        {
            // The children: the cascade's business (the revoke script reads them), only checked here.
            if (trailing[next] is not byte[] children || children.Length % MemberLength != 0)
            {
                throw Malformed();
            }

            next++;
        }

        if (next < trailing.Count)
        {
            throw Malformed();
        }

        byte[]? Bytes(int position)
        {
            return values[position - 1] switch
            {
                null => null,
                byte[] bytes => bytes,
                long when position is >= FirstInterned and <= LastInterned and not TaskUuidPosition
                    => position - FirstInterned < stored.Strings.Count && stored.Strings[position - FirstInterned] is { } text
                        ? text
                        : throw new InvalidOperationException("A stored grant refers to a missing dictionary entry."),
                _ => throw Malformed(),
            };
        }

        string? Text(int position) => Bytes(position) is { } bytes ? StrictUtf8.GetString(bytes) : null;

        string Required(int position) => Text(position) ?? throw Malformed();

        long Number(int position) => values[position - 1] as long? ?? throw Malformed();

        byte[]? Fixed(int position, int length) => Bytes(position) is { } bytes ? (bytes.Length == length ? bytes : throw Malformed()) : null;

        // A thumbprint is either its 32 bytes or, when it is not canonical base64url of 32 bytes, its text: never both.
        string? ThumbprintAt(int raw, int text) => (Fixed(raw, ThumbprintLength), Text(text)) switch
        {
            ({ } bytes, null) => Base64Url.EncodeToString(bytes),
            (null, var value) => value,
            _ => throw Malformed(),
        };

        var storedExpiry = Number(1);
        var lifetime = Number(2);
        if (storedExpiry < 0)
        {
            throw Malformed();
        }

        var expiry = Expiry(storedExpiry, now);
        var lifetimeMs = lifetime < 0 ? checked(-lifetime * 1000) : lifetime;
        var subject = Required(4);
        var actors = Split(Text(12));
        var jkt = ThumbprintAt(11, 15);
        var x5t = ThumbprintAt(14, 16);
        var taskUuid = Fixed(TaskUuidPosition, 16);
        return new GrantRecord
        {
            Id = id,
            Tenant = Required(3),
            Subject = subject,
            ClientId = Text(13) ?? (actors.Length > 0 ? actors[0] : subject),
            ActorChain = actors,
            Capabilities = Split(Text(5)),
            Audience = Required(6),
            TaskId = Required(7) + (taskUuid is null ? string.Empty : new Guid(taskUuid, bigEndian: true).ToString("D")),
            Purpose = Required(9),
            IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(checked(expiry - lifetimeMs)),
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(expiry),
            Binding = jkt is null && x5t is null ? null : new GrantBinding(jkt, x5t),
            PolicyVersion = Required(10),
            ParentGrantId = parentGrantId,
            ConsumerTenant = Text(17),
            StatusIndex = statusIndex,
            Status = stored.RevocationMark is null ? GrantStatus.Active : GrantStatus.Revoked,
            Revocation = stored.RevocationMark is { } mark ? ParseRevocation(mark) : null,
        };
    }

    /// <summary>The one failure of decoding: the store fails closed on it.</summary>
    internal static InvalidOperationException Malformed(Exception? inner = null) => new("A stored grant is malformed.", inner);

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

    /// <summary>The values of a space-joined list; an empty value (two spaces, or one at either end) is malformed.</summary>
    private static string[] Split(string? joined)
    {
        if (string.IsNullOrEmpty(joined))
        {
            return [];
        }

        var values = joined.Split(' ');
        return values.Contains(string.Empty) ? throw Malformed() : values;
    }

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
}
