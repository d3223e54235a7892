using System.Text;
using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Testing.Grants;
using StackExchange.Redis;

namespace Broker.Tests.Grants.Redis;

/// <summary>
/// The stored form of a grant, without Redis: what the codec hands the record script, and what it reads back from
/// what the scripts write (packed by <see cref="RecordScript"/>, which <see cref="GoldenRecordTests"/> pins to the
/// real script).
/// </summary>
public sealed class RedisGrantRecordCodecTests
{
    private const long Now = 1_764_000_000_123;
    private const string CanonicalThumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    private static readonly long Retention = (long)TimeSpan.FromMinutes(15).TotalMilliseconds;
    private static readonly RedisGrantRecordCodec Codec = new(TimeSpan.FromMinutes(15));
    private static readonly string Tag = GrantId.RoutingTag("acme");

    [Theory]
    [InlineData(1_000, 0)]
    [InlineData(600_000, -300_000)]
    [InlineData(600_000, 1_500_000)]
    [InlineData(3_600_000, 86_400_000)]
    [InlineData(1, -86_400_000)]
    public void Expiry_ReadByAReplicaLaterOrWithSkew_IsTheStoredExpiry(long lifetime, long readerOffset)
    {
        // Arrange: written now; read while the record lives (up to expiry + retention) by a clock off by a day.
        var expiry = Now + lifetime;

        // Act
        var stored = RedisGrantRecordCodec.StoredExpiry(expiry, Now, Retention);

        // Assert
        Assert.True(stored < 1L << 32);
        Assert.Equal(expiry, RedisGrantRecordCodec.Expiry(stored, Now + readerOffset));
    }

    [Fact]
    public void StoredExpiry_LifetimeNearTheWindow_IsTheWholeExpiry()
    {
        var expiry = Now + (long)TimeSpan.FromDays(20).TotalMilliseconds;

        var stored = RedisGrantRecordCodec.StoredExpiry(expiry, Now, Retention);

        Assert.Equal(expiry, stored);
        Assert.Equal(expiry, RedisGrantRecordCodec.Expiry(stored, Now + 12345));
    }

    [Theory]
    [InlineData(600_000, -600)]
    [InlineData(1_234, 1_234)]
    [InlineData(0, 0)]
    public void StoredLifetime_WholeSecondsNegated_OthersInMilliseconds(long lifetime, long expected)
        => Assert.Equal(expected, RedisGrantRecordCodec.StoredLifetime(lifetime));

    [Theory]
    [InlineData("task-3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f", "task-")]
    [InlineData("3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f", "")]
    [InlineData("3F2A9C1E-7B4D-4E8A-9C0F-1A2B3C4D5E6F", null)]
    [InlineData("{3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f}", null)]
    [InlineData("task-3f2a9c1e7b4d4e8a9c0f1a2b3c4d5e6f", null)]
    [InlineData("short", null)]
    public void SplitTask_OnlyACanonicalTrailingUuid_IsSplit(string taskId, string? prefix)
    {
        var split = RedisGrantRecordCodec.SplitTask(taskId);

        Assert.Equal(prefix, split?.Prefix);
        if (split is { } parts)
        {
            Assert.Equal(taskId, parts.Prefix + new Guid(parts.Uuid, bigEndian: true).ToString("D"));
        }
    }

    [Fact]
    public void Encode_EveryMember_IsTheRecordScriptsArguments()
    {
        // Arrange
        var grant = GoldenFamily.RecordedParent with { ParentGrantId = Tag + ".CCCCCCCCCCCCCCCCCCCCCC" };

        // Act
        var args = Codec.Encode(grant, Now);

        // Assert: positions 1 to 16, then the parent without its routing tag.
        Assert.Equal(17, args.Length);
        Assert.Equal((Now + 600_000) % (1L << 32), (long)args[0]);
        Assert.Equal(-600, (long)args[1]);
        Assert.Equal(["acme", grant.Subject, "files.read search.query", grant.Audience, "task-"], args[2..7].Select(a => (string?)a));
        Assert.Equal(Guid.Parse("3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f").ToByteArray(bigEndian: true), (byte[])args[7]!);
        Assert.Equal([grant.Purpose, grant.PolicyVersion], args[8..10].Select(a => (string?)a));
        Assert.Equal(Convert.FromBase64String("0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I="), (byte[])args[10]!);
        Assert.Equal(string.Join(' ', grant.ActorChain), (string?)args[11]);
        Assert.Equal(grant.ClientId, (string?)args[12]);
        Assert.Equal(RedisValue.EmptyString, args[13]);
        Assert.Equal(RedisValue.EmptyString, args[14]);
        Assert.Equal("x5t-thumbprint", (string?)args[15]);
        Assert.Equal("CCCCCCCCCCCCCCCCCCCCCC", (string?)args[16]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encode_ClientIsTheDefault_IsLeftOut(bool delegated)
    {
        // Arrange: the client is the current actor when delegated, else the subject.
        var grant = GoldenFamily.RecordedChild with
        {
            ActorChain = delegated ? ["spiffe://acme.example/ns/orchestrator/sa/planner"] : [],
            ClientId = delegated ? "spiffe://acme.example/ns/orchestrator/sa/planner" : GoldenFamily.RecordedChild.Subject,
        };

        // Act
        var args = Codec.Encode(grant, Now);

        // Assert
        Assert.Equal(RedisValue.EmptyString, args[12]);
        GrantAssert.Same(grant, RoundTrip(grant, statusIndex: 1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("files read")]
    [InlineData(" files.read")]
    public void Encode_CapabilityOrActorEmptyOrWithASpace_Throws(string value)
    {
        Assert.Throws<ArgumentException>(() => Codec.Encode(GoldenFamily.RecordedChild with { Capabilities = ["files.read", value] }, Now));
        Assert.Throws<ArgumentException>(() => Codec.Encode(GoldenFamily.RecordedChild with { ActorChain = [value] }, Now));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void RoundTrip_EveryMember_ReadsBackTheSameGrant(bool dictionaryFull, bool statusList)
    {
        // Arrange: both golden grants, with the strings numbered or (dictionary full) in the record itself.
        var script = new RecordScript(dictionaryFull);
        int? parentIndex = statusList ? 0 : null;
        int? childIndex = statusList ? 1 : null;
        var parent = script.Record(Codec.Encode(GoldenFamily.RecordedParent, Now), parentIndex);
        var child = script.Record(Codec.Encode(GoldenFamily.RecordedChild, Now), childIndex);
        parent = RecordScript.Link(parent, parentIndex, null, string.Empty, RedisGrantKeys.IndexMember(GoldenFamily.RecordedChild.Id));

        // Act
        var parentRead = Codec.Decode(GoldenFamily.RecordedParent.Id, script.Read(parent), Now);
        var childRead = Codec.Decode(GoldenFamily.RecordedChild.Id, script.Read(child), Now);

        // Assert
        GrantAssert.Same(GoldenFamily.RecordedParent with { StatusIndex = parentIndex }, parentRead);
        GrantAssert.Same(GoldenFamily.RecordedChild with { StatusIndex = childIndex }, childRead);
    }

    // By name: a public theory cannot take the broker's internal GrantRecord.
    public static TheoryData<string> VariantNames => [.. Variants.Keys];

    private static Dictionary<string, GrantRecord> Variants => new(StringComparer.Ordinal)
    {
        { "no binding", GoldenFamily.RecordedChild with { Binding = null } },
        { "jkt only, canonical", GoldenFamily.RecordedChild with { Binding = new GrantBinding(CanonicalThumbprint, null) } },
        { "x5t only, text", GoldenFamily.RecordedChild with { Binding = new GrantBinding(null, "x5t-thumbprint") } },
        { "both canonical", GoldenFamily.RecordedChild with { Binding = new GrantBinding(CanonicalThumbprint, CanonicalThumbprint) } },
        { "spare bits set: text", GoldenFamily.RecordedChild with { Binding = new GrantBinding("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4J", null) } },
        { "no capabilities", GoldenFamily.RecordedChild with { Capabilities = [] } },
        { "bare UUID task", GoldenFamily.RecordedChild with { TaskId = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f" } },
        { "uppercase UUID task", GoldenFamily.RecordedChild with { TaskId = "run:3F2A9C1E-7B4D-4E8A-9C0F-1A2B3C4D5E6F" } },
        { "empty purpose", GoldenFamily.RecordedChild with { Purpose = string.Empty } },
        { "non-ASCII text", GoldenFamily.RecordedChild with { Purpose = "résumé du rapport trimestriel — 四半期", Audience = "urn:mcp:ünïcode" } },
        { "millisecond lifetime", GoldenFamily.RecordedChild with { ExpiresAt = GoldenFamily.RecordedChild.IssuedAt.AddMilliseconds(1_234) } },
        { "zero lifetime", GoldenFamily.RecordedChild with { ExpiresAt = GoldenFamily.RecordedChild.IssuedAt } },
        { "twenty days: whole expiry", GoldenFamily.RecordedChild with { ExpiresAt = GoldenFamily.RecordedChild.IssuedAt.AddDays(20).AddMilliseconds(7) } },
        { "three actors, explicit client", GoldenFamily.RecordedParent with { ActorChain = ["spiffe://a.example/1", "spiffe://a.example/2", "spiffe://a.example/3"] } },
    };

    [Theory]
    [MemberData(nameof(VariantNames))]
    public void RoundTrip_Variants_ReadBackTheSameGrant(string variant)
    {
        var grant = Variants[variant];
        GrantAssert.Same(grant with { StatusIndex = null }, RoundTrip(grant, statusIndex: null));
        GrantAssert.Same(grant with { StatusIndex = null }, RoundTrip(grant, statusIndex: null, dictionaryFull: true));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    public void RoundTrip_StringsOfEveryLengthClass_ReadBackExactly(int length)
    {
        // Arrange: fixstr, str8, str16 and str32 as cmsgpack chooses them, in the record itself (dictionary full).
        var text = new string('p', length);
        var grant = GoldenFamily.RecordedChild with { Purpose = text, Audience = "https://mcp.acme.example/" + text };

        // Act + Assert
        GrantAssert.Same(grant, RoundTrip(grant, statusIndex: 1, dictionaryFull: true));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(16_777_215)]
    [InlineData(int.MaxValue)]
    public void RoundTrip_StatusIndexOfEveryIntegerClass_ReadsBackExactly(int index)
    {
        var grant = GoldenFamily.RecordedChild with { StatusIndex = index };

        GrantAssert.Same(grant, RoundTrip(grant, index));
    }

    [Fact]
    public void RoundTrip_AllSixteenPositions_IsAnArray16()
    {
        // Arrange: a client and both thumbprints as text take every rare position, so the array has 16 elements,
        // one past what a fixarray holds.
        var grant = GoldenFamily.RecordedParent with { Binding = new GrantBinding("jkt-thumbprint", "x5t-thumbprint") };
        var script = new RecordScript();

        // Act
        var record = script.Record(Codec.Encode(grant, Now), 0);

        // Assert
        Assert.Equal(new byte[] { 0xdc, 0x00, 0x10 }, record[..3]);
        GrantAssert.Same(grant, Codec.Decode(grant.Id, script.Read(record), Now));
    }

    [Fact]
    public void RoundTrip_ParentWithEightChildren_ReadsBackTheSameGrant()
    {
        // Arrange: the most children a record holds itself.
        var script = new RecordScript();
        var record = script.Record(Codec.Encode(GoldenFamily.RecordedParent, Now), 0);
        var children = string.Empty;
        for (var i = 0; i < RedisGrantRecordCodec.InlineChildren; i++)
        {
            var member = RedisGrantKeys.IndexMember(GrantId.New("acme"));
            record = RecordScript.Link(record, 0, null, children, member);
            children += member;
        }

        // Act + Assert
        GrantAssert.Same(GoldenFamily.RecordedParent, Codec.Decode(GoldenFamily.RecordedParent.Id, script.Read(record), Now));
    }

    [Fact]
    public void Decode_WithARevocationMark_IsRevoked()
    {
        // Arrange: the mark as the revoke script writes it (cjson).
        var script = new RecordScript();
        var record = script.Record(Codec.Encode(GoldenFamily.RecordedChild, Now), 1);
        const string mark = "{\"at\":1764000012345,\"by\":\"spiffe://acme.example/admins/alice\",\"why\":\"leaked in a log\"}";

        // Act
        var grant = Codec.Decode(GoldenFamily.RecordedChild.Id, script.Read(record, mark), Now);

        // Assert
        Assert.Equal(GrantStatus.Revoked, grant.Status);
        Assert.Equal(new GrantRevocation(DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_012_345), "spiffe://acme.example/admins/alice", "leaked in a log"), grant.Revocation);
    }

    [Fact]
    public void Decode_EveryTruncationOfTheArray_IsRefused()
    {
        // Arrange
        var script = new RecordScript();
        var record = script.Record(Codec.Encode(GoldenFamily.RecordedParent, Now), null);

        // Act + Assert: every prefix of the array alone is cut short somewhere.
        for (var length = 0; length < record.Length; length++)
        {
            var cut = record[..length];
            var error = Assert.Throws<InvalidOperationException>(() => Codec.Decode(GoldenFamily.RecordedParent.Id, script.Read(record) with { Record = cut }, Now));
            Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("not an array")]
    [InlineData("a map")]
    [InlineData("nine positions")]
    [InlineData("eighteen positions")]
    [InlineData("a reserved marker")]
    [InlineData("a float expiry")]
    [InlineData("a string expiry")]
    [InlineData("a negative expiry")]
    [InlineData("an expiry past uint64 as long")]
    [InlineData("a lifetime too long")]
    [InlineData("no tenant")]
    [InlineData("no policy version")]
    [InlineData("a number where the UUID goes")]
    [InlineData("a UUID of 15 bytes")]
    [InlineData("a thumbprint of 31 bytes")]
    [InlineData("a jkt as bytes and as text")]
    [InlineData("a number the dictionary does not have")]
    [InlineData("text that is not UTF-8")]
    [InlineData("two spaces between capabilities")]
    [InlineData("a string longer than the value")]
    [InlineData("a negative status index")]
    [InlineData("a status index past int")]
    [InlineData("a parent of 21 characters")]
    [InlineData("a parent that is not base64url")]
    [InlineData("a number where the parent goes")]
    [InlineData("children not in whole IDs")]
    [InlineData("four values after the array")]
    [InlineData("a JSON record")]
    public void Decode_Malformed_IsRefused(string corruption)
    {
        // Arrange: the golden child as the script writes it, then spoilt.
        var script = new RecordScript();
        var args = Codec.Encode(GoldenFamily.RecordedChild, Now);
        var strings = script.Read(script.Record(args, 1)).Strings;
        var values = Positions(args, script);
        var record = corruption switch
        {
            "not an array" => Pack(w => w.Value(Encoding.UTF8.GetBytes("acme"))),
            "a map" => [0x81, 0xa1, (byte)'t', 0xa4, .. "acme"u8],
            "nine positions" => Pack(w => w.Array(values[..9])),
            "eighteen positions" => Pack(w => w.Array([.. values, .. Enumerable.Repeat<object>(false, 18 - values.Count)])),
            "a reserved marker" => Replace(values, 0, [0xc1]),
            "a float expiry" => Replace(values, 0, [0xcb, 0x42, 0x79, 0xb0, 0x8a, 0x6f, 0xc0, 0x00, 0x00]),
            "a string expiry" => Record(values, 0, "1764000600123"u8.ToArray()),
            "a negative expiry" => Record(values, 0, -1L),
            "an expiry past uint64 as long" => Replace(values, 0, [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "a lifetime too long" => Record(values, 1, long.MinValue / 100),
            "no tenant" => Record(values, 2, false),
            "no policy version" => Record(values, 9, false),
            "a number where the UUID goes" => Record(values, 7, 1L),
            "a UUID of 15 bytes" => Record(values, 7, new byte[15]),
            "a thumbprint of 31 bytes" => Record(values, 13, new byte[31]),
            "a jkt as bytes and as text" => Record(values, 10, new byte[32]),
            "a number the dictionary does not have" => Record(values, 12, 999L),
            "text that is not UTF-8" => Record(values, 8, new byte[] { 0x73, 0xff, 0xfe }),
            "two spaces between capabilities" => Record(values, 4, "files.read  search.query"u8.ToArray()),
            "a string longer than the value" => Replace(values, 8, [0xd9, 0xff, .. "short"u8]),
            "a negative status index" => Pack(w => { w.Array(values); w.Value(-1L); }),
            "a status index past int" => Pack(w => { w.Array(values); w.Value((long)int.MaxValue + 1); }),
            "a parent of 21 characters" => Pack(w => { w.Array(values); w.Value(1L); w.Value(new byte[21]); }),
            "a parent that is not base64url" => Pack(w => { w.Array(values); w.Value(1L); w.Value("AAAAAAAAAAAAAAAAAAAA{}"u8.ToArray()); }),
            "a number where the parent goes" => Pack(w => { w.Array(values); w.Value(1L); w.Value(2L); }),
            "children not in whole IDs" => Pack(w => { w.Array(values); w.Value(1L); w.Value(false); w.Value(new byte[23]); }),
            "four values after the array" => Pack(w => { w.Array(values); w.Value(1L); w.Value(false); w.Value(Array.Empty<byte>()); w.Value(false); }),
            "a JSON record" => "{\"t\":\"acme\",\"s\":\"spiffe://acme.example/a\",\"e\":1764000600123}"u8.ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };

        // Act
        var error = Assert.Throws<InvalidOperationException>(() => Codec.Decode(GoldenFamily.RecordedChild.Id, new StoredGrant(record, strings, null), Now));

        // Assert: one kind of failure, whatever the damage; the store fails closed on it.
        Assert.Matches("malformed|missing dictionary entry", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("not json")]
    [InlineData("{\"at\":1764000012345,\"by\":\"admin\"}")]
    [InlineData("{\"at\":1764000012345,\"why\":\"x\"}")]
    [InlineData("{\"by\":\"admin\",\"why\":\"x\"}")]
    [InlineData("{\"at\":\"yesterday\",\"by\":\"admin\",\"why\":\"x\"}")]
    [InlineData("{\"at\":-1,\"by\":\"admin\",\"why\":\"x\"}")]
    [InlineData("{\"at\":999999999999999999,\"by\":\"admin\",\"why\":\"x\"}")]
    [InlineData("{\"at\":1764000012345,\"by\":\"\",\"why\":\"x\"}")]
    public void DecodeRevocation_Malformed_IsRefused(string mark)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Codec.DecodeRevocation(mark));

        Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRevocation_AsTheRevokeScriptWritesIt_ReadsEveryMember()
    {
        var revocation = Codec.DecodeRevocation("{\"why\":\"\",\"by\":\"spiffe://acme.example/agent\",\"at\":1764000012345}");

        Assert.Equal(new GrantRevocation(DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_012_345), "spiffe://acme.example/agent", string.Empty), revocation);
    }

    private static GrantRecord RoundTrip(GrantRecord grant, int? statusIndex, bool dictionaryFull = false)
    {
        var script = new RecordScript(dictionaryFull);
        var record = script.Record(Codec.Encode(grant, Now), statusIndex);
        return Codec.Decode(grant.Id, script.Read(record), Now);
    }

    /// <summary>The record array's values as the script packs them, numbers for numbered strings.</summary>
    private static List<object> Positions(RedisValue[] args, RecordScript script)
    {
        var record = script.Record(args, null);
        var values = new List<object>();
        var count = record[0] & 0x0f;
        var position = 1;
        for (var i = 0; i < count; i++)
        {
            (var value, position) = ReadOne(record, position);
            values.Add(value);
        }

        return values;
    }

    private static (object Value, int Next) ReadOne(byte[] record, int position)
    {
        var b = record[position];
        return b switch
        {
            <= 0x7f => ((long)b, position + 1),
            0xc2 => (false, position + 1),
            >= 0xa0 and <= 0xbf => (record[(position + 1)..(position + 1 + (b & 0x1f))], position + 1 + (b & 0x1f)),
            0xd9 => (record[(position + 2)..(position + 2 + record[position + 1])], position + 2 + record[position + 1]),
            >= 0xe0 => ((long)(sbyte)b, position + 1),
            0xd0 => ((long)(sbyte)record[position + 1], position + 2),
            0xd1 => ((long)(short)((record[position + 1] << 8) | record[position + 2]), position + 3),
            0xce => ((long)(((uint)record[position + 1] << 24) | ((uint)record[position + 2] << 16) | ((uint)record[position + 3] << 8) | record[position + 4]), position + 5),
            _ => throw new InvalidOperationException($"Unexpected marker 0x{b:x2} in the sample record."),
        };
    }

    private static byte[] Pack(Action<RecordScript.Writer> write)
    {
        var writer = new RecordScript.Writer();
        write(writer);
        return writer.ToArray();
    }

    /// <summary>The record with position <paramref name="index"/> (0-based) replaced by <paramref name="value"/>, then status index 1.</summary>
    private static byte[] Record(List<object> values, int index, object value)
    {
        List<object> copy = [.. values];
        copy[index] = value;
        return Pack(w => { w.Array(copy); w.Value(1L); });
    }

    /// <summary>The record with position <paramref name="index"/> replaced by raw bytes (and what follows them).</summary>
    private static byte[] Replace(List<object> values, int index, byte[] raw)
    {
        var before = Pack(w => w.Array(values[..index]))[1..];
        var after = Pack(w => w.Array(values[(index + 1)..]))[1..];
        return [(byte)(0x90 | values.Count), .. before, .. raw, .. after];
    }
}
