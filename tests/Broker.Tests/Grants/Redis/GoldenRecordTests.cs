using Broker.Grants.Redis;
using Broker.Testing.Grants;

namespace Broker.Tests.Grants.Redis;

/// <summary>
/// The golden grants (<see cref="GoldenFamily"/>: two grants of one family, every record position used between them,
/// and a shared grant) and the exact bytes the Redis record script writes for them.
/// <c>RedisGrantStoreTestBase.RecordAsync_GoldenFamily_WritesTheGoldenBytes</c> (integration, real redis-server) checks
/// the script writes these bytes; here they pin <see cref="RecordScript"/>, which the codec's unit tests pack with, to
/// the script.
/// </summary>
public sealed class GoldenRecordTests
{
    [Fact]
    public void RecordScript_SharedGrant_WritesWhatTheRedisScriptWritesAndReadsItBack()
    {
        // Arrange
        var codec = new RedisGrantRecordCodec(GoldenFamily.Retention);
        var script = new RecordScript();

        // Act
        var record = script.Record(codec.Encode(GoldenFamily.RecordedShared, GoldenFamily.Now), 0, RedisGrantRecordCodec.Consumer(GoldenFamily.RecordedShared));
        var decoded = codec.Decode(GoldenFamily.RecordedShared.Id, script.Read(record), GoldenFamily.Now);

        // Assert
        Assert.Equal(GoldenFamily.SharedHex, Convert.ToHexStringLower(record));
        GrantAssert.Same(GoldenFamily.RecordedShared, decoded);
    }

    [Fact]
    public void RecordScript_GoldenFamily_WritesWhatTheRedisScriptWrites()
    {
        // Arrange
        var codec = new RedisGrantRecordCodec(GoldenFamily.Retention);
        var script = new RecordScript();

        // Act: the parent, the child, then the link the record script adds to the parent.
        var parent = script.Record(codec.Encode(GoldenFamily.RecordedParent, GoldenFamily.Now), 0);
        var child = script.Record(codec.Encode(GoldenFamily.RecordedChild, GoldenFamily.Now), 1);
        parent = RecordScript.Link(parent, 0, null, string.Empty, RedisGrantKeys.IndexMember(GoldenFamily.RecordedChild.Id));

        // Assert
        Assert.Equal(GoldenFamily.ParentHex, Convert.ToHexStringLower(parent));
        Assert.Equal(GoldenFamily.ChildHex, Convert.ToHexStringLower(child));
    }

    [Fact]
    public void Decode_GoldenFamily_ReadsBothGrantsBack()
    {
        // Arrange: the dictionary as the script numbered it.
        var codec = new RedisGrantRecordCodec(GoldenFamily.Retention);
        var script = new RecordScript();
        script.Record(codec.Encode(GoldenFamily.RecordedParent, GoldenFamily.Now), 0);
        script.Record(codec.Encode(GoldenFamily.RecordedChild, GoldenFamily.Now), 1);

        // Act
        var parent = codec.Decode(GoldenFamily.RecordedParent.Id, script.Read(Convert.FromHexString(GoldenFamily.ParentHex)), GoldenFamily.Now);
        var child = codec.Decode(GoldenFamily.RecordedChild.Id, script.Read(Convert.FromHexString(GoldenFamily.ChildHex)), GoldenFamily.Now);

        // Assert
        GrantAssert.Same(GoldenFamily.RecordedParent, parent);
        GrantAssert.Same(GoldenFamily.RecordedChild, child);
    }
}
