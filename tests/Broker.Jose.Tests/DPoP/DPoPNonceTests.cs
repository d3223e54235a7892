using System.Security.Cryptography;
using Broker.Jose.DPoP;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Jose.Tests.DPoP;

public sealed class DPoPNonceTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(5);

    // A step boundary, so the tests know where they stand within a step.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch.AddTicks(Step.Ticks * 5_900_000));

    private DPoPNonce Create(byte[]? key = null) => new(new DPoPNonceOptions { Key = key ?? Key, Step = Step }, _time);

    [Fact]
    public void Check_NonceJustIssued_IsValid()
    {
        // Arrange
        var nonces = Create();

        // Act
        var nonce = nonces.Issue();

        // Assert
        Assert.Equal(DPoPNonce.Length, nonce.Length);
        Assert.Equal(DPoPNonceCheck.Valid, nonces.Check(nonce));
    }

    [Fact]
    public void Issue_WithinOneStep_IsTheSameNonce_AndTheNextStepAnother()
    {
        // Arrange
        var nonces = Create();
        var first = nonces.Issue();

        // Act
        _time.Advance(Step - TimeSpan.FromTicks(1));
        var sameStep = nonces.Issue();
        _time.Advance(TimeSpan.FromTicks(1));
        var nextStep = nonces.Issue();

        // Assert
        Assert.Equal(first, sameStep);
        Assert.NotEqual(first, nextStep);
    }

    [Fact]
    public void Check_NonceOfThePreviousStep_IsValid_AndOfTheOneBefore_IsStale()
    {
        // Arrange
        var nonces = Create();
        var nonce = nonces.Issue();

        // Act / Assert
        _time.Advance(Step);
        Assert.Equal(DPoPNonceCheck.Valid, nonces.Check(nonce));
        _time.Advance(Step - TimeSpan.FromTicks(1));
        Assert.Equal(DPoPNonceCheck.Valid, nonces.Check(nonce));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(DPoPNonceCheck.Stale, nonces.Check(nonce));
    }

    [Fact]
    public void Check_NonceOfAReplicaOneStepAhead_IsValid_TwoStepsAhead_IsInvalid()
    {
        // Arrange: a replica sharing the key, whose clock is ahead.
        var ahead = new FakeTimeProvider(_time.GetUtcNow() + Step);
        var farAhead = new FakeTimeProvider(_time.GetUtcNow() + Step + Step);
        var nonces = Create();

        // Act
        var fromAhead = new DPoPNonce(new DPoPNonceOptions { Key = Key, Step = Step }, ahead).Issue();
        var fromFarAhead = new DPoPNonce(new DPoPNonceOptions { Key = Key, Step = Step }, farAhead).Issue();

        // Assert
        Assert.Equal(DPoPNonceCheck.Valid, nonces.Check(fromAhead));
        Assert.Equal(DPoPNonceCheck.Invalid, nonces.Check(fromFarAhead));
    }

    [Fact]
    public void Check_NonceOfAnotherKey_IsInvalid_EvenWhenStale()
    {
        // Arrange
        var other = Create(RandomNumberGenerator.GetBytes(32)).Issue();
        var nonces = Create();

        // Act / Assert
        Assert.Equal(DPoPNonceCheck.Invalid, nonces.Check(other));
        _time.Advance(Step * 10);
        Assert.Equal(DPoPNonceCheck.Invalid, nonces.Check(other));
    }

    [Fact]
    public void Check_AlteredNonce_IsInvalid()
    {
        // Arrange
        var nonces = Create();
        var nonce = nonces.Issue();

        // Act: another step with the same MAC, and a flipped MAC character.
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(nonce);
        bytes[7] ^= 1;
        var otherStep = System.Buffers.Text.Base64Url.EncodeToString(bytes);
        var flipped = nonce[..^2] + (nonce[^2] == 'A' ? 'B' : 'A') + nonce[^1];

        // Assert
        Assert.Equal(DPoPNonceCheck.Invalid, nonces.Check(otherStep));
        Assert.Equal(DPoPNonceCheck.Invalid, nonces.Check(flipped));
    }

    [Theory]
    [InlineData(null, DPoPNonceCheck.Missing)]
    [InlineData("", DPoPNonceCheck.Missing)]
    [InlineData("x", DPoPNonceCheck.Invalid)]
    [InlineData("eyJ7S_zG.eyJH0-Z.HX4w-7v", DPoPNonceCheck.Invalid)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", DPoPNonceCheck.Invalid)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", DPoPNonceCheck.Invalid)]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", DPoPNonceCheck.Invalid)]
    public void Check_NotANonce_IsMissingOrInvalid(string? nonce, DPoPNonceCheck expected)
    {
        // Act / Assert
        Assert.Equal(expected, Create().Check(nonce));
    }

    [Fact]
    public void Options_WeakKeyOrStepOutOfRange_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPNonceOptions { Key = new byte[31] });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPNonceOptions { Key = Key, Step = TimeSpan.FromSeconds(9) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPNonceOptions { Key = Key, Step = TimeSpan.FromHours(2) });
    }

    [Fact]
    public void Options_Key_IsCopied()
    {
        // Arrange
        var key = RandomNumberGenerator.GetBytes(32);
        var options = new DPoPNonceOptions { Key = key };
        var nonce = new DPoPNonce(options, _time).Issue();

        // Act: the caller reuses its buffer.
        Array.Clear(key);

        // Assert
        Assert.Equal(DPoPNonceCheck.Valid, new DPoPNonce(options, _time).Check(nonce));
    }
}
