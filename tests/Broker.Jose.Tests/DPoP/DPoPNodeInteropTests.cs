using System.Security.Cryptography;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;

namespace Broker.Jose.Tests.DPoP;

/// <summary>
/// Proofs made by the npm <c>dpop</c> package (panva/dpop 2.x) pass <see cref="DPoPProofValidator"/>, with the same
/// thumbprint the package computes. The proofs carry the real time, so the validator runs on the system clock; the
/// 60-second window is far longer than one node run.
/// </summary>
public sealed class DPoPNodeInteropTests
{
    private const string Token = "https://broker.example/token";
    private const string Mcp = "https://mcp.example/mcp";
    private const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl";

    [Theory]
    [InlineData("ES256")]
    [InlineData("PS256")]
    public async Task ValidateAsync_TokenRequestProofFromNpmDpop_IsAcceptedWithItsThumbprint(string alg)
    {
        // Arrange
        var proofs = await DPoPNode.MakeProofsAsync([new(alg, "POST", Token)], TestContext.Current.CancellationToken);

        // Act
        var result = await Validator().ValidateAsync([proofs[0].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var valid = Assert.IsType<DPoPProofResult.Valid>(result);
        Assert.Equal(proofs[0].Jkt, valid.Thumbprint);
        Assert.Equal(alg, valid.Algorithm);
    }

    [Fact]
    public async Task ValidateAsync_Rs256ProofFromNpmDpop_IsAcceptedWhenConfigured()
    {
        // Arrange
        var proofs = await DPoPNode.MakeProofsAsync([new("RS256", "POST", Token), new("RS256", "POST", Token)], TestContext.Current.CancellationToken);
        var options = new DPoPProofValidatorOptions { Algorithms = ["ES256", "PS256", "RS256"] };
        var configured = new DPoPProofValidator(options, new InMemoryDPoPReplayCache(TimeProvider.System), TimeProvider.System);

        // Act
        var byDefault = await Validator().ValidateAsync([proofs[0].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);
        var accepted = await configured.ValidateAsync([proofs[1].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.DisallowedAlgorithm, Assert.IsType<DPoPProofResult.Invalid>(byDefault).Error);
        Assert.Equal(proofs[1].Jkt, Assert.IsType<DPoPProofResult.Valid>(accepted).Thumbprint);
    }

    [Fact]
    public async Task ValidateAsync_ResourceRequestProofFromNpmDpop_WithAthAndServerNonce_IsAccepted()
    {
        // Arrange: the server's nonce travels to the client and back in the proof.
        var nonces = new DPoPNonce(new DPoPNonceOptions { Key = RandomNumberGenerator.GetBytes(32) }, TimeProvider.System);
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(TimeProvider.System), TimeProvider.System, nonces);
        var proofs = await DPoPNode.MakeProofsAsync(
            [new("ES256", "GET", Mcp, AccessToken, nonces.Issue()), new("ES256", "GET", Mcp, AccessToken)],
            TestContext.Current.CancellationToken);

        // Act
        var withNonce = await validator.ValidateAsync([proofs[0].Value], "GET", Mcp, AccessToken, TestContext.Current.CancellationToken);
        var withoutNonce = await validator.ValidateAsync([proofs[1].Value], "GET", Mcp, AccessToken, TestContext.Current.CancellationToken);
        var otherToken = await Validator().ValidateAsync([proofs[1].Value], "GET", Mcp, AccessToken + "x", TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(proofs[0].Jkt, Assert.IsType<DPoPProofResult.Valid>(withNonce).Thumbprint);
        Assert.Equal(DPoPConstants.UseDPoPNonce, Assert.IsType<DPoPProofResult.Invalid>(withoutNonce).OAuthError);
        Assert.Equal(DPoPProofError.WrongAth, Assert.IsType<DPoPProofResult.Invalid>(otherToken).Error);
    }

    [Fact]
    public async Task ValidateAsync_ProofFromNpmDpop_ReplayedOrSentElsewhere_IsRefused()
    {
        // Arrange: one proof whose htu carries a query (ignored), one for another URL.
        var proofs = await DPoPNode.MakeProofsAsync(
            [new("ES256", "POST", Token + "?grant=1"), new("ES256", "POST", "https://other.example/token")],
            TestContext.Current.CancellationToken);
        var validator = Validator();

        // Act
        var first = await validator.ValidateAsync([proofs[0].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);
        var replayed = await validator.ValidateAsync([proofs[0].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);
        var elsewhere = await validator.ValidateAsync([proofs[1].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);
        var wrongMethod = await Validator().ValidateAsync([proofs[0].Value], "GET", Token, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(first);
        Assert.Equal(DPoPProofError.ReplayedJti, Assert.IsType<DPoPProofResult.Invalid>(replayed).Error);
        Assert.Equal(DPoPProofError.WrongHtu, Assert.IsType<DPoPProofResult.Invalid>(elsewhere).Error);
        Assert.Equal(DPoPProofError.WrongHtm, Assert.IsType<DPoPProofResult.Invalid>(wrongMethod).Error);
    }

    [Fact]
    public async Task ValidateAsync_Ed25519ProofFromNpmDpop_IsRefusedAsADisallowedAlgorithm()
    {
        // Arrange: Ed25519 (RFC 9864) is not on JoseAlgorithms.Allowed; Microsoft.IdentityModel 8.x cannot verify it.
        var proofs = await DPoPNode.MakeProofsAsync([new("Ed25519", "POST", Token)], TestContext.Current.CancellationToken);

        // Act
        var result = await Validator().ValidateAsync([proofs[0].Value], "POST", Token, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.DisallowedAlgorithm, Assert.IsType<DPoPProofResult.Invalid>(result).Error);
    }

    private static DPoPProofValidator Validator() =>
        new(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(TimeProvider.System), TimeProvider.System);
}
