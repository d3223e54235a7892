using System.Globalization;
using Broker.Grants.Redis;

namespace Broker.IntegrationTests.Grants.Redis;

/// <summary>The Redis settings the validator refuses at start, so that a bad one never reaches a request.</summary>
public sealed class RedisOptionsValidatorTests
{
    public static TheoryData<int, string, string, bool> WaitSettings => new()
    {
        { 0, "00:00:05", "00:00:02", true },
        { 1, "00:00:00.500", "00:00:02", true },
        { 16, "00:00:00.001", "00:00:02", true },
        { -1, "00:00:00.500", "00:00:02", false },
        { 17, "00:00:00.500", "00:00:02", false },
        { 1, "00:00:00", "00:00:02", false },
        { 1, "00:00:02", "00:00:02", false },
    };

    [Theory]
    [MemberData(nameof(WaitSettings))]
    public void Validate_WaitForReplicasSettings_AcceptsOnlyACountUpTo16AndATimeoutBelowTheOperationTimeout(int replicas, string timeout, string operationTimeout, bool valid)
    {
        var options = new RedisOptions
        {
            WaitForReplicas = replicas,
            WaitForReplicasTimeout = TimeSpan.Parse(timeout, CultureInfo.InvariantCulture),
            OperationTimeout = TimeSpan.Parse(operationTimeout, CultureInfo.InvariantCulture),
        };

        var result = new RedisOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(32, true)]
    [InlineData(256, true)]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(257, false)]
    public void Validate_MaxRecordBatch_AcceptsOnly1To256(int maxRecordBatch, bool valid)
    {
        var result = new RedisOptionsValidator().Validate(null, new RedisOptions { MaxRecordBatch = maxRecordBatch });

        Assert.Equal(valid, result.Succeeded);
        Assert.Equal(valid, result.Failures?.Any(f => f.Contains("MaxRecordBatch", StringComparison.Ordinal)) != true);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(8, true)]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(9, false)]
    public void Validate_RecordCallsInFlight_AcceptsOnly1To8(int callsInFlight, bool valid)
    {
        var result = new RedisOptionsValidator().Validate(null, new RedisOptions { RecordCallsInFlight = callsInFlight });

        Assert.Equal(valid, result.Succeeded);
        Assert.Equal(valid, result.Failures?.Any(f => f.Contains("RecordCallsInFlight", StringComparison.Ordinal)) != true);
    }
}
