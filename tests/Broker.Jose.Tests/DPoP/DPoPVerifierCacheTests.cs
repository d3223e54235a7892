using System.Security.Cryptography;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;
using Microsoft.Extensions.Time.Testing;
using static Broker.Testing.DPoP.DPoPTestProofs;

namespace Broker.Jose.Tests.DPoP;

/// <summary>
/// <see cref="DPoPProofValidator"/>'s cache of proof-key verifiers: a key's second proof is verified with the verifier
/// imported for its first, every proof is still checked in full, forged proofs take no entry, and the cache stays
/// within its bound whatever keys callers choose.
/// </summary>
public sealed class DPoPVerifierCacheTests
{
    private readonly FakeTimeProvider _time = new(Now);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ValidateAsync_SameKeyTwice_SecondProofUsesTheCachedVerifier()
    {
        // Arrange
        var validator = Validator();
        var builder = new DPoPProofBuilder(P256, _time);

        // Act
        var first = await ValidateAsync(validator, builder.CreateProof(Method, new Uri(TokenUri)));
        var second = await ValidateAsync(validator, builder.CreateProof(Method, new Uri(TokenUri)));

        // Assert
        Assert.Equal(builder.Thumbprint, Assert.IsType<DPoPProofResult.Valid>(first).Thumbprint);
        Assert.Equal(builder.Thumbprint, Assert.IsType<DPoPProofResult.Valid>(second).Thumbprint);
        Assert.Equal(1, validator.VerifierCache!.Count);
        Assert.Equal(1, validator.VerifierCache.Hits);
    }

    [Fact]
    public async Task ValidateAsync_CachedKey_ProofWithItsJwkSignedByAnotherKey_IsStillRefused()
    {
        // Arrange: P256's verifier is cached; the forger copies P256's jwk into a proof it signs with its own key.
        var validator = Validator();
        Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Valid()));

        // Act
        var forged = await ValidateAsync(validator, Sign(Header(jwk: EcJwk(P256)), Claims(), P256Other));
        var tampered = await ValidateAsync(validator, TamperedPayload(Valid()));

        // Assert: the cached verifier was used (a hit each), and the signature still decided.
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(forged).Error);
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(tampered).Error);
        Assert.Equal(2, validator.VerifierCache!.Hits);
    }

    [Fact]
    public async Task ValidateAsync_CachedKey_JwkPinnedToAnotherAlgorithm_IsStillRefused()
    {
        // Arrange: the RSA key's PS256 verifier is cached.
        var validator = Validator();
        Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048)));

        // Act: the same key, its jwk pinned to PS384 (RFC 7517 §4.4), used for PS256.
        var pinned = await ValidateAsync(validator, Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("alg", "PS384")), Claims(), Rsa2048));

        // Assert: refused before the cache is asked.
        Assert.Equal(DPoPProofError.AlgorithmKeyMismatch, Assert.IsType<DPoPProofResult.Invalid>(pinned).Error);
        Assert.Equal(0, validator.VerifierCache!.Hits);
    }

    [Fact]
    public async Task ValidateAsync_OneRsaKeyWithTwoAlgorithms_OneVerifierEach()
    {
        // Arrange
        var validator = Validator();

        // Act
        var ps256 = await ValidateAsync(validator, Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048));
        var ps384 = await ValidateAsync(validator, Sign(Header(alg: "PS384", jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048));
        var ps384SignedAsPs256 = await ValidateAsync(validator, Sign(Header(alg: "PS384", jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048, alg: "PS256"));

        // Assert: a PS256 verifier never checks a PS384 signature.
        Assert.Equal("PS256", Assert.IsType<DPoPProofResult.Valid>(ps256).Algorithm);
        Assert.Equal("PS384", Assert.IsType<DPoPProofResult.Valid>(ps384).Algorithm);
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(ps384SignedAsPs256).Error);
        Assert.Equal(2, validator.VerifierCache!.Count);
        Assert.Equal(1, validator.VerifierCache.Hits);
    }

    [Fact]
    public async Task ValidateAsync_ForgedProofOfAnUnseenKey_TakesNoEntry()
    {
        // Arrange
        var validator = Validator();
        using var unseen = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // Act
        var forged = await ValidateAsync(validator, Sign(Header(jwk: EcJwk(unseen)), Claims(), P256Other));

        // Assert
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(forged).Error);
        Assert.Equal(0, validator.VerifierCache!.Count);
    }

    [Fact]
    public async Task ValidateAsync_ProofsOfManyKeys_CacheNeverExceedsItsBound_EveryProofStillChecked()
    {
        // Arrange: eight entries, and eight times as many keys, as an attacker choosing fresh keys would send.
        var validator = Validator(size: 8);
        var counts = new List<int>();

        // Act
        for (var i = 0; i < 64; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, new DPoPProofBuilder(key, _time).CreateProof(Method, new Uri(TokenUri))));
            counts.Add(validator.VerifierCache!.Count);
        }

        // Assert
        Assert.All(counts, count => Assert.InRange(count, 0, 8));
        Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Valid()));
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(await ValidateAsync(validator, Sign(Header(), Claims(), P256Other))).Error);
    }

    [Fact]
    public async Task ValidateAsync_KeyUnusedForTheIdleLifetime_IsImportedAgain()
    {
        // Arrange
        var validator = Validator();
        Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Valid()));

        // Act: the next proof by the same key comes after the entry's idle lifetime.
        _time.Advance(DPoPVerifierCache.IdleLifetime + TimeSpan.FromSeconds(1));
        var later = await ValidateAsync(validator, Sign(Header(), Claims(iat: _time.GetUtcNow())));

        // Assert: accepted through a fresh import, not the expired entry.
        Assert.IsType<DPoPProofResult.Valid>(later);
        Assert.Equal(0, validator.VerifierCache!.Hits);
    }

    [Fact]
    public async Task ValidateAsync_KeyUsedWithinTheIdleLifetime_StaysCached()
    {
        // Arrange
        var validator = Validator();
        Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Valid()));

        // Act: two proofs, each just within the idle lifetime of the one before (the expiry slides).
        var hits = new List<long>();
        for (var i = 0; i < 2; i++)
        {
            _time.Advance(DPoPVerifierCache.IdleLifetime - TimeSpan.FromSeconds(1));
            Assert.IsType<DPoPProofResult.Valid>(await ValidateAsync(validator, Sign(Header(), Claims(iat: _time.GetUtcNow()))));
            hits.Add(validator.VerifierCache!.Hits);
        }

        // Assert
        Assert.Equal([1, 2], hits);
    }

    [Fact]
    public async Task ValidateAsync_CacheOff_EveryProofCheckedAlike()
    {
        // Arrange
        var validator = Validator(size: 0);
        var builder = new DPoPProofBuilder(P256, _time);

        // Act
        var first = await ValidateAsync(validator, builder.CreateProof(Method, new Uri(TokenUri)));
        var second = await ValidateAsync(validator, builder.CreateProof(Method, new Uri(TokenUri)));
        var forged = await ValidateAsync(validator, Sign(Header(), Claims(), P256Other));

        // Assert
        Assert.Null(validator.VerifierCache);
        Assert.IsType<DPoPProofResult.Valid>(first);
        Assert.IsType<DPoPProofResult.Valid>(second);
        Assert.Equal(DPoPProofError.BadSignature, Assert.IsType<DPoPProofResult.Invalid>(forged).Error);
    }

    [Fact]
    public async Task ValidateAsync_ManyProofsOfOneKeyInParallel_AllAcceptedWithOneEntry()
    {
        // Arrange
        var validator = Validator();
        var proofs = Enumerable.Range(0, 200).Select(_ => Valid()).ToList();

        // Act: one shared verifier used from many threads at once.
        var results = await Task.WhenAll(proofs.Select(p => Task.Run(async () => await ValidateAsync(validator, p), Ct)));

        // Assert
        Assert.All(results, r => Assert.IsType<DPoPProofResult.Valid>(r));
        Assert.Equal(1, validator.VerifierCache!.Count);
    }

    private DPoPProofValidator Validator(int size = 1024) =>
        new(new DPoPProofValidatorOptions { VerifierCacheSize = size }, new InMemoryDPoPReplayCache(_time), _time);

    private static async Task<DPoPProofResult> ValidateAsync(DPoPProofValidator validator, string proof) =>
        await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: Ct);

    /// <summary>The proof with its payload's jti changed and the signature kept.</summary>
    private static string TamperedPayload(string proof)
    {
        var parts = proof.Split('.');
        var claims = System.Text.Json.Nodes.JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        claims["jti"] = "tampered";
        return $"{parts[0]}.{B64(claims.ToJsonString())}.{parts[2]}";
    }
}
