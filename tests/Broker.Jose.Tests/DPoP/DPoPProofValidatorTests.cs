using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;
using Microsoft.Extensions.Time.Testing;
using static Broker.Testing.DPoP.DPoPTestProofs;

namespace Broker.Jose.Tests.DPoP;

public sealed class DPoPProofValidatorTests
{
    private const string AccessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl";
    private static readonly byte[] NonceKey = RandomNumberGenerator.GetBytes(32);

    private readonly FakeTimeProvider _time = new(Now);

    public sealed record Scenario(string?[] Proofs, DPoPProofError Expected, string? AccessToken = null, string HttpMethod = Method, string RequestUri = TokenUri);

    /// <summary>Every way RFC 9449 §4.3 refuses a proof, one at a time; all else in each proof is valid.</summary>
    private static readonly Dictionary<string, Func<Scenario>> RefusedCases = new()
    {
        // :: Step 1: exactly one header field.
        ["no DPoP header"] = () => new([], DPoPProofError.MissingProof),
        ["an empty DPoP header"] = () => new([""], DPoPProofError.MissingProof),
        ["a null DPoP header"] = () => new([null], DPoPProofError.MissingProof),
        ["two DPoP headers"] = () => new([Valid(), Valid()], DPoPProofError.MultipleProofs),
        ["two DPoP headers, the first empty"] = () => new(["", Valid()], DPoPProofError.MultipleProofs),
        ["two proofs joined by a proxy"] = () => new([Valid() + ", " + Valid()], DPoPProofError.MultipleProofs),

        // :: Size, before anything is read.
        ["a proof over 8192 characters"] = () => new([Sign(Header(), Claims().With("pad", new string('x', 6200)))], DPoPProofError.OversizedProof),

        // :: Step 2: one well-formed JWS.
        ["not a JWT"] = () => new(["not-a-jwt"], DPoPProofError.MalformedProof),
        ["a JWE (five segments)"] = () => new(["a.b.c.d.e"], DPoPProofError.MalformedProof),
        ["base64 padding"] = () => new([Valid() + "="], DPoPProofError.MalformedProof),
        ["standard base64 alphabet"] = () => new([StandardAlphabet()], DPoPProofError.MalformedProof),
        ["a repeated header member"] = () => new([RepeatedMember()], DPoPProofError.MalformedProof),
        ["a repeated jwk member"] = () => new([RepeatedJwkMember()], DPoPProofError.MalformedProof),
        ["crit"] = () => new([Sign(Header().With("crit", new JsonArray("exp")), Claims())], DPoPProofError.MalformedProof),
        ["jti a number"] = () => new([Sign(Header(), Claims().With("jti", 5))], DPoPProofError.MalformedProof),
        ["iat a string"] = () => new([Sign(Header(), Claims().With("iat", Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)))], DPoPProofError.MalformedProof),

        // :: Step 4: typ.
        ["typ JWT"] = () => new([Sign(Header(typ: "JWT"), Claims())], DPoPProofError.BadType),
        ["typ at+jwt"] = () => new([Sign(Header(typ: "at+jwt"), Claims())], DPoPProofError.BadType),
        ["no typ"] = () => new([Sign(Header(typ: null), Claims())], DPoPProofError.BadType),
        ["typ application/dpop+jwt"] = () => new([Sign(Header(typ: "application/dpop+jwt"), Claims())], DPoPProofError.BadType),
        ["typ DPOP+JWT"] = () => new([Sign(Header(typ: "DPOP+JWT"), Claims())], DPoPProofError.BadType),
        ["typ a number"] = () => new([Sign(Header().With("typ", 1), Claims())], DPoPProofError.BadType),

        // :: Step 5: an asymmetric, allow-listed alg.
        ["alg none"] = () => new([Sign(Header(alg: "none"), Claims())], DPoPProofError.DisallowedAlgorithm),
        ["alg HS256, signed with a secret"] = () => new([Sign(Header(alg: "HS256"), Claims(), RandomNumberGenerator.GetBytes(32))], DPoPProofError.DisallowedAlgorithm),
        ["alg HS256, keyed with the jwk's x"] = () => new([HmacWithPublicKey()], DPoPProofError.DisallowedAlgorithm),
        ["alg RS256, off the default list"] = () => new([Sign(Header(alg: "RS256", jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048)], DPoPProofError.DisallowedAlgorithm),
        ["alg EdDSA"] = () => new([Sign(Header(alg: "EdDSA"), Claims(), alg: "ES256")], DPoPProofError.DisallowedAlgorithm),
        ["alg es256"] = () => new([Sign(Header(alg: "es256"), Claims(), alg: "ES256")], DPoPProofError.DisallowedAlgorithm),
        ["no alg"] = () => new([Sign(Header().Without("alg"), Claims(), alg: "ES256")], DPoPProofError.DisallowedAlgorithm),

        // :: The jwk: present, public (step 7), canonical, fitting alg.
        ["no jwk"] = () => new([Sign(Header().Without("jwk"), Claims())], DPoPProofError.MissingJwk),
        ["jwk a string"] = () => new([Sign(Header().With("jwk", "key"), Claims())], DPoPProofError.BadJwk),
        ["jwk an EC private key (d)"] = () => new([Sign(Header(jwk: EcJwk(P256, includePrivate: true)), Claims())], DPoPProofError.PrivateKeyInJwk),
        ["jwk an RSA private key (d, p, q, dp, dq, qi)"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048, includePrivate: true)), Claims(), Rsa2048)], DPoPProofError.PrivateKeyInJwk),
        ["jwk an RSA key with d alone"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("d", RsaJwk(Rsa2048, includePrivate: true)["d"]!.DeepClone())), Claims(), Rsa2048)], DPoPProofError.PrivateKeyInJwk),
        ["jwk with p"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("p", "AQAB")), Claims(), Rsa2048)], DPoPProofError.PrivateKeyInJwk),
        ["jwk with oth"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("oth", new JsonArray())), Claims(), Rsa2048)], DPoPProofError.PrivateKeyInJwk),
        ["jwk with d null"] = () => new([Sign(Header(jwk: EcJwk(P256).With("d", null)), Claims())], DPoPProofError.PrivateKeyInJwk),
        ["jwk a symmetric key (k)"] = () => new([Sign(Header(jwk: new JsonObject { ["kty"] = "oct", ["k"] = B64(NonceKey) }), Claims())], DPoPProofError.PrivateKeyInJwk),
        ["jwk kty OKP"] = () => new([Sign(Header(jwk: new JsonObject { ["kty"] = "OKP", ["crv"] = "Ed25519", ["x"] = B64(new byte[32]) }), Claims())], DPoPProofError.BadJwk),
        ["jwk kty missing"] = () => new([Sign(Header(jwk: EcJwk(P256).Without("kty")), Claims())], DPoPProofError.BadJwk),
        ["jwk kty a number"] = () => new([Sign(Header(jwk: EcJwk(P256).With("kty", 1)), Claims())], DPoPProofError.BadJwk),
        ["jwk kty ec"] = () => new([Sign(Header(jwk: EcJwk(P256).With("kty", "ec")), Claims())], DPoPProofError.BadJwk),
        ["jwk crv secp256k1"] = () => new([Sign(Header(jwk: EcJwk(P256).With("crv", "secp256k1")), Claims())], DPoPProofError.BadJwk),
        ["jwk x one octet short"] = () => new([Sign(Header(jwk: EcJwk(P256).With("x", B64(new byte[31]))), Claims())], DPoPProofError.BadJwk),
        ["jwk x padded"] = () => new([Sign(Header(jwk: EcJwk(P256).With("x", (string)EcJwk(P256)["x"]! + "=")), Claims())], DPoPProofError.BadJwk),
        ["jwk without y"] = () => new([Sign(Header(jwk: EcJwk(P256).Without("y")), Claims())], DPoPProofError.BadJwk),
        ["jwk EC with n"] = () => new([Sign(Header(jwk: EcJwk(P256).With("n", "AQAB")), Claims())], DPoPProofError.BadJwk),
        ["jwk use enc"] = () => new([Sign(Header(jwk: EcJwk(P256).With("use", "enc")), Claims())], DPoPProofError.BadJwk),
        ["jwk key_ops without verify"] = () => new([Sign(Header(jwk: EcJwk(P256).With("key_ops", new JsonArray("sign"))), Claims())], DPoPProofError.BadJwk),
        ["jwk key_ops a string"] = () => new([Sign(Header(jwk: EcJwk(P256).With("key_ops", "verify")), Claims())], DPoPProofError.BadJwk),
        ["jwk RSA of 1024 bits"] = () => new([Sign(Header(alg: "PS256", jwk: FakeRsaJwk(1024)), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["jwk RSA of 8192 bits"] = () => new([Sign(Header(alg: "PS256", jwk: FakeRsaJwk(8192)), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["jwk RSA modulus with a leading zero"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("n", B64([0, .. Rsa2048.ExportParameters(false).Modulus!]))), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["jwk RSA exponent even"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("e", "AQAA")), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["jwk RSA exponent 1"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("e", "AQ")), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["jwk RSA exponent of 5 octets"] = () => new([Sign(Header(alg: "PS256", jwk: RsaJwk(Rsa2048).With("e", B64(new byte[] { 1, 0, 0, 0, 1 }))), Claims(), Rsa2048)], DPoPProofError.BadJwk),
        ["ES256 with a P-384 key"] = () => new([Sign(Header(jwk: EcJwk(P384)), Claims(), P384)], DPoPProofError.AlgorithmKeyMismatch),
        ["ES384 with a P-256 key"] = () => new([Sign(Header(alg: "ES384"), Claims())], DPoPProofError.AlgorithmKeyMismatch),
        ["ES256 with an RSA key"] = () => new([Sign(Header(jwk: RsaJwk(Rsa2048)), Claims(), Rsa2048, "PS256")], DPoPProofError.AlgorithmKeyMismatch),
        ["PS256 with an EC key"] = () => new([Sign(Header(alg: "PS256"), Claims(), alg: "ES256")], DPoPProofError.AlgorithmKeyMismatch),
        ["a jwk pinned to ES384 used with ES256"] = () => new([Sign(Header(jwk: EcJwk(P256).With("alg", "ES384")), Claims())], DPoPProofError.AlgorithmKeyMismatch),

        // :: Step 6: the signature verifies with the jwk.
        ["signed by another key"] = () => new([Sign(Header(), Claims(), P256Other)], DPoPProofError.BadSignature),
        ["claims changed after signing"] = () => new([Altered()], DPoPProofError.BadSignature),
        ["ES256 signed over SHA-384"] = () => new([Sign(Header(), Claims(), alg: "ES384")], DPoPProofError.BadSignature),
        ["a jwk point off the curve"] = () => new([Sign(Header(jwk: EcJwk(P256).With("y", B64(new byte[32]))), Claims())], DPoPProofError.BadSignature),

        // :: Step 3: the required claims, well typed.
        ["no jti"] = () => new([Sign(Header(), Claims().Without("jti"))], DPoPProofError.MissingClaim),
        ["no htm"] = () => new([Sign(Header(), Claims().Without("htm"))], DPoPProofError.MissingClaim),
        ["no htu"] = () => new([Sign(Header(), Claims().Without("htu"))], DPoPProofError.MissingClaim),
        ["no iat"] = () => new([Sign(Header(), Claims().Without("iat"))], DPoPProofError.MissingClaim),
        ["htm a number"] = () => new([Sign(Header(), Claims().With("htm", 1))], DPoPProofError.InvalidClaim),
        ["htu an object"] = () => new([Sign(Header(), Claims().With("htu", new JsonObject()))], DPoPProofError.InvalidClaim),
        ["ath a number"] = () => new([Sign(Header(), Claims().With("ath", 1))], DPoPProofError.InvalidClaim),
        ["nonce null"] = () => new([Sign(Header(), Claims().With("nonce", null))], DPoPProofError.InvalidClaim),
        ["jti empty"] = () => new([Sign(Header(), Claims().With("jti", ""))], DPoPProofError.InvalidClaim),
        ["jti of 129 characters"] = () => new([Sign(Header(), Claims().With("jti", new string('j', 129)))], DPoPProofError.InvalidClaim),
        ["htu a relative URI"] = () => new([Sign(Header(), Claims(uri: "/token"))], DPoPProofError.InvalidClaim),
        ["htu with userinfo"] = () => new([Sign(Header(), Claims(uri: "https://user@broker.example/token"))], DPoPProofError.InvalidClaim),

        // :: Step 8: htm.
        ["htm GET for a POST"] = () => new([Sign(Header(), Claims(method: "GET"))], DPoPProofError.WrongHtm),
        ["htm post (methods are case-sensitive)"] = () => new([Sign(Header(), Claims(method: "post"))], DPoPProofError.WrongHtm),

        // :: Step 9: htu.
        ["htu another path"] = () => new([Sign(Header(), Claims(uri: "https://broker.example/other"))], DPoPProofError.WrongHtu),
        ["htu another host"] = () => new([Sign(Header(), Claims(uri: "https://evil.example/token"))], DPoPProofError.WrongHtu),
        ["htu http for https"] = () => new([Sign(Header(), Claims(uri: "http://broker.example/token"))], DPoPProofError.WrongHtu),
        ["htu another port"] = () => new([Sign(Header(), Claims(uri: "https://broker.example:8443/token"))], DPoPProofError.WrongHtu),
        ["htu a trailing slash"] = () => new([Sign(Header(), Claims(uri: "https://broker.example/token/"))], DPoPProofError.WrongHtu),
        ["htu an encoded slash"] = () => new([Sign(Header(), Claims(uri: "https://broker.example/a%2Ftoken"))], DPoPProofError.WrongHtu, RequestUri: "https://broker.example/a/token"),
        ["a proof for another server's URL"] = () => new([Sign(Header(), Claims(method: "GET", uri: "https://mcp-a.example/mcp", accessToken: AccessToken))], DPoPProofError.WrongHtu, AccessToken, "GET", "https://mcp-b.example/mcp"),

        // :: Step 11: iat within [now - 60 s, now + 10 s].
        ["iat 61 seconds ago"] = () => new([Sign(Header(), Claims(iat: Now.AddSeconds(-61)))], DPoPProofError.StaleIssuedAt),
        ["iat a day ago"] = () => new([Sign(Header(), Claims(iat: Now.AddDays(-1)))], DPoPProofError.StaleIssuedAt),
        ["iat 11 seconds ahead"] = () => new([Sign(Header(), Claims(iat: Now.AddSeconds(11)))], DPoPProofError.FutureIssuedAt),
        ["iat a year ahead"] = () => new([Sign(Header(), Claims(iat: Now.AddYears(1)))], DPoPProofError.FutureIssuedAt),

        // :: Step 12: ath, when an access token is presented.
        ["no ath with an access token"] = () => new([Valid()], DPoPProofError.MissingAth, AccessToken),
        ["ath of another token"] = () => new([Valid(accessToken: AccessToken + "x")], DPoPProofError.WrongAth, AccessToken),
        ["ath of the token in hex"] = () => new([Sign(Header(), Claims().With("ath", Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(AccessToken)))))], DPoPProofError.WrongAth, AccessToken),
    };

    public static TheoryData<string> Refused => [.. RefusedCases.Keys];

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task ValidateAsync_ProofBreakingOneRule_IsRefusedForThatRule(string scenario)
    {
        // Arrange
        var c = RefusedCases[scenario]();
        var cache = new InMemoryDPoPReplayCache(_time);
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), cache, _time);

        // Act
        var result = await validator.ValidateAsync(c.Proofs, c.HttpMethod, c.RequestUri, c.AccessToken, TestContext.Current.CancellationToken);

        // Assert: refused for that reason, and no replay cache entry taken.
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(result);
        Assert.Equal(c.Expected, invalid.Error);
        Assert.Equal(DPoPConstants.InvalidDPoPProof, invalid.OAuthError);
        Assert.False(invalid.IsNonceChallenge);
        Assert.Equal(0, cache.Count);
    }

    public static TheoryData<string, string, string> AcceptedForms => new()
    {
        // htu claim, request URI, why
        { "https://broker.example/token?x=1", TokenUri, "query in htu ignored" },
        { "https://broker.example/token#f", TokenUri, "fragment in htu ignored" },
        { TokenUri, "https://broker.example/token?grant_type=x", "query in the request URI ignored" },
        { "HTTPS://Broker.EXAMPLE/token", TokenUri, "scheme and host case" },
        { "https://broker.example:443/token", TokenUri, "default port" },
        { TokenUri, "https://broker.example:443/token", "default port in the request URI" },
        { "https://broker.example/%74oken", TokenUri, "percent-encoded unreserved character" },
        { "https://broker.example/a/../token", TokenUri, "dot segments" },
        { "https://broker.example:8443/a%2fb", "https://broker.example:8443/a%2Fb", "percent-encoding case" },
    };

    [Theory]
    [MemberData(nameof(AcceptedForms))]
    public async Task ValidateAsync_HtuEqualAfterNormalisation_IsAccepted(string htu, string requestUri, string why)
    {
        // Arrange
        var proof = Sign(Header(), Claims(uri: htu));

        // Act
        var result = await Validator().ValidateAsync([proof], Method, requestUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.True(result is DPoPProofResult.Valid, why);
    }

    [Theory]
    [InlineData(-60)]
    [InlineData(-59.5)]
    [InlineData(0)]
    [InlineData(9.5)]
    [InlineData(10)]
    public async Task ValidateAsync_IatAtTheEdgesOfTheWindow_IsAccepted(double secondsFromNow)
    {
        // Arrange: iat as a fractional NumericDate (RFC 7519 §2).
        var claims = Claims().With("iat", Now.ToUnixTimeMilliseconds() / 1000.0 + secondsFromNow);

        // Act
        var result = await Validator().ValidateAsync([Sign(Header(), claims)], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(result);
    }

    [Fact]
    public async Task ValidateAsync_WindowFromOptions_IsApplied()
    {
        // Arrange
        var options = new DPoPProofValidatorOptions { MaxAge = TimeSpan.FromSeconds(5), ClockSkew = TimeSpan.Zero };
        var validator = new DPoPProofValidator(options, new InMemoryDPoPReplayCache(_time), _time);

        // Act
        var stale = await validator.ValidateAsync([Sign(Header(), Claims(iat: Now.AddSeconds(-6)))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var future = await validator.ValidateAsync([Sign(Header(), Claims(iat: Now.AddSeconds(1)))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.StaleIssuedAt, Assert.IsType<DPoPProofResult.Invalid>(stale).Error);
        Assert.Equal(DPoPProofError.FutureIssuedAt, Assert.IsType<DPoPProofResult.Invalid>(future).Error);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ReplayWindow);
    }

    [Fact]
    public async Task ValidateAsync_Es256Proof_IsAcceptedWithTheKeysThumbprint()
    {
        // Arrange
        var builder = new DPoPProofBuilder(P256, _time);
        var proof = builder.CreateProof(Method, new Uri(TokenUri));

        // Act
        var result = await Validator().ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var valid = Assert.IsType<DPoPProofResult.Valid>(result);
        Assert.Equal(builder.Thumbprint, valid.Thumbprint);
        Assert.Equal("ES256", valid.Algorithm);
        Assert.Equal(Now, valid.IssuedAt);
        Assert.False(string.IsNullOrEmpty(valid.JwtId));
    }

    [Theory]
    [InlineData("P-384", "ES384")]
    [InlineData("P-521", "ES512")]
    public async Task ValidateAsync_ProofOnLargerCurves_IsAccepted(string curve, string alg)
    {
        // Arrange
        var key = curve == "P-384" ? P384 : P521;
        var builder = new DPoPProofBuilder(key, _time);

        // Act
        var result = await Validator().ValidateAsync([builder.CreateProof(Method, new Uri(TokenUri))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var valid = Assert.IsType<DPoPProofResult.Valid>(result);
        Assert.Equal(alg, valid.Algorithm);
        Assert.Equal(builder.Thumbprint, valid.Thumbprint);
    }

    [Theory]
    [InlineData("PS256")]
    [InlineData("PS384")]
    [InlineData("PS512")]
    public async Task ValidateAsync_RsaPssProof_IsAccepted(string alg)
    {
        // Arrange
        var builder = new DPoPProofBuilder(Rsa2048, alg, _time);

        // Act
        var result = await Validator().ValidateAsync([builder.CreateProof("GET", new Uri("https://mcp.example/mcp"), AccessToken)], "GET", "https://mcp.example/mcp", AccessToken, TestContext.Current.CancellationToken);

        // Assert
        var valid = Assert.IsType<DPoPProofResult.Valid>(result);
        Assert.Equal(alg, valid.Algorithm);
        Assert.Equal(builder.Thumbprint, valid.Thumbprint);
    }

    [Fact]
    public async Task ValidateAsync_Rs256Proof_IsAcceptedOnlyWhenConfigured()
    {
        // Arrange
        var builder = new DPoPProofBuilder(Rsa2048, "RS256", _time);
        var options = new DPoPProofValidatorOptions { Algorithms = ["ES256", "RS256"] };
        var validator = new DPoPProofValidator(options, new InMemoryDPoPReplayCache(_time), _time);

        // Act
        var byDefault = await Validator().ValidateAsync([builder.CreateProof(Method, new Uri(TokenUri))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var configured = await validator.ValidateAsync([builder.CreateProof(Method, new Uri(TokenUri))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var es384 = await validator.ValidateAsync([new DPoPProofBuilder(P384, _time).CreateProof(Method, new Uri(TokenUri))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.DisallowedAlgorithm, Assert.IsType<DPoPProofResult.Invalid>(byDefault).Error);
        Assert.Equal("RS256", Assert.IsType<DPoPProofResult.Valid>(configured).Algorithm);
        Assert.Equal(DPoPProofError.DisallowedAlgorithm, Assert.IsType<DPoPProofResult.Invalid>(es384).Error);
    }

    [Fact]
    public async Task ValidateAsync_JwkWithMembersBeyondTheKey_IsAcceptedWithTheSameThumbprint()
    {
        // Arrange: kid, use, key_ops, alg and ext are not part of the thumbprint (RFC 7638 §3.2).
        var jwk = EcJwk(P256).With("kid", "k1").With("use", "sig").With("key_ops", new JsonArray("verify")).With("alg", "ES256").With("ext", true);
        var proof = Sign(Header(jwk: jwk), Claims());

        // Act
        var result = await Validator().ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(new DPoPProofBuilder(P256).Thumbprint, Assert.IsType<DPoPProofResult.Valid>(result).Thumbprint);
    }

    [Fact]
    public async Task ValidateAsync_AccessTokenWithItsAth_IsAccepted()
    {
        // Act
        var result = await Validator().ValidateAsync([Valid(accessToken: AccessToken)], Method, TokenUri, AccessToken, TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(result);
    }

    [Fact]
    public async Task ValidateAsync_AthWithoutAnAccessToken_IsNotChecked()
    {
        // Arrange: at the token endpoint no access token is presented; a proof with ath is not refused for it.
        var proof = Valid(accessToken: AccessToken);

        // Act
        var result = await Validator().ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(result);
    }

    [Fact]
    public async Task ValidateAsync_SameProofTwice_IsReplayed()
    {
        // Arrange
        var validator = Validator();
        var proof = Valid();

        // Act
        var first = await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var second = await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(first);
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(second);
        Assert.Equal(DPoPProofError.ReplayedJti, invalid.Error);
        Assert.Equal("replayed_jti", invalid.ReasonCode);
        Assert.Equal(DPoPConstants.InvalidDPoPProof, invalid.OAuthError);
    }

    [Fact]
    public async Task ValidateAsync_SameJtiWithAnotherKeyOrSigningAgain_IsReplayedOnlyForTheSameKey()
    {
        // Arrange: one jti, three proofs: two by one key (freshly signed each time), one by another.
        var validator = Validator();
        var claims = Claims();
        var a = Sign(Header(), claims);
        var b = Sign(Header(jwk: EcJwk(P256Other)), claims, P256Other);
        var aAgain = Sign(Header(), claims.With("extra", 1));

        // Act
        var first = await validator.ValidateAsync([a], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var otherKey = await validator.ValidateAsync([b], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var sameKey = await validator.ValidateAsync([aAgain], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(first);
        Assert.IsType<DPoPProofResult.Valid>(otherKey);
        Assert.Equal(DPoPProofError.ReplayedJti, Assert.IsType<DPoPProofResult.Invalid>(sameKey).Error);
    }

    [Fact]
    public async Task ValidateAsync_ReplayAfterTheWindow_IsStaleNotAccepted()
    {
        // Arrange: the cache entry outlives every iat the proof can be accepted with.
        var validator = Validator();
        var proof = Sign(Header(), Claims(iat: Now.AddSeconds(10)));
        await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Act
        _time.Advance(TimeSpan.FromSeconds(70));
        var replayed = await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var later = await validator.ValidateAsync([proof], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.ReplayedJti, Assert.IsType<DPoPProofResult.Invalid>(replayed).Error);
        Assert.Equal(DPoPProofError.StaleIssuedAt, Assert.IsType<DPoPProofResult.Invalid>(later).Error);
    }

    [Fact]
    public async Task ValidateAsync_ReplayCacheFull_FailsClosed()
    {
        // Arrange
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(_time, capacity: 1), _time);
        await validator.ValidateAsync([Valid()], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Act
        var result = await validator.ValidateAsync([Valid()], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(result);
        Assert.Equal(DPoPProofError.ReplayCacheUnavailable, invalid.Error);
        Assert.Equal("temporarily_unavailable", invalid.OAuthError);
    }

    [Fact]
    public async Task ValidateAsync_ReplayCacheFault_Propagates()
    {
        // Arrange: only DPoPReplayCacheUnavailableException means "cannot record"; anything else is a bug to surface.
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new FaultyCache(), _time);

        // Act / Assert
        await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await validator.ValidateAsync([Valid()], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ValidateAsync_NonceRequiredAndAbsent_AsksForOne()
    {
        // Arrange
        var validator = NonceValidator(out _);

        // Act
        var result = await validator.ValidateAsync([Valid()], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(result);
        Assert.Equal(DPoPProofError.MissingNonce, invalid.Error);
        Assert.Equal("missing_nonce", invalid.ReasonCode);
        Assert.Equal(DPoPConstants.UseDPoPNonce, invalid.OAuthError);
        Assert.True(invalid.IsNonceChallenge);
        Assert.True(validator.RequiresNonce);
    }

    [Theory]
    [InlineData("not-a-nonce")]
    [InlineData("eyJ7S_zG.eyJH0-Z.HX4w-7v")]
    public async Task ValidateAsync_NonceNotIssuedHere_AsksForOne(string nonce)
    {
        // Arrange
        var validator = NonceValidator(out _);

        // Act
        var result = await validator.ValidateAsync([Valid(nonce: nonce)], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(result);
        Assert.Equal(DPoPProofError.WrongNonce, invalid.Error);
        Assert.Equal(DPoPConstants.UseDPoPNonce, invalid.OAuthError);
    }

    [Fact]
    public async Task ValidateAsync_NonceOfAnotherServer_AsksForOne()
    {
        // Arrange
        var validator = NonceValidator(out _);
        var other = new DPoPNonce(new DPoPNonceOptions { Key = RandomNumberGenerator.GetBytes(32) }, _time).Issue();

        // Act
        var result = await validator.ValidateAsync([Valid(nonce: other)], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(DPoPProofError.WrongNonce, Assert.IsType<DPoPProofResult.Invalid>(result).Error);
    }

    [Fact]
    public async Task ValidateAsync_NonceOfThePreviousStep_IsAccepted_AndOfTheStepBefore_IsStale()
    {
        // Arrange
        var validator = NonceValidator(out var nonces);
        var nonce = nonces.Issue();

        // Act: each proof is made at the time it is sent, with the nonce the client holds.
        _time.Advance(TimeSpan.FromMinutes(5));
        var previousStep = await validator.ValidateAsync([Sign(Header(), Claims(iat: _time.GetUtcNow(), nonce: nonce))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(5));
        var stale = await validator.ValidateAsync([Sign(Header(), Claims(iat: _time.GetUtcNow(), nonce: nonce))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);
        var fresh = await validator.ValidateAsync([Sign(Header(), Claims(iat: _time.GetUtcNow(), nonce: nonces.Issue()))], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(previousStep);
        var invalid = Assert.IsType<DPoPProofResult.Invalid>(stale);
        Assert.Equal(DPoPProofError.StaleNonce, invalid.Error);
        Assert.Equal(DPoPConstants.UseDPoPNonce, invalid.OAuthError);
        Assert.IsType<DPoPProofResult.Valid>(fresh);
    }

    [Fact]
    public async Task ValidateAsync_NonceNotRequired_IsIgnored()
    {
        // Act
        var result = await Validator().ValidateAsync([Valid(nonce: "anything")], Method, TokenUri, cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.IsType<DPoPProofResult.Valid>(result);
    }

    [Fact]
    public async Task ValidateAsync_Rfc9449Figure2Proof_IsAcceptedWithFigure9sThumbprint()
    {
        // Arrange: the RFC's own token-request proof (§4.1 Figure 2), at its iat; its key's jkt is in Figure 9.
        const string proof =
            "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19"
            + ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ"
            + ".2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1562262616));
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(time), time);

        // Act
        var result = await validator.ValidateAsync([proof], "POST", "https://server.example.com/token", cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        var valid = Assert.IsType<DPoPProofResult.Valid>(result);
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", valid.Thumbprint);
        Assert.Equal("-BwC3ESc6acc2lTc", valid.JwtId);
    }

    [Fact]
    public async Task ValidateAsync_Rfc9449Figure13Proof_IsAcceptedWithItsAccessToken_AndNoOther()
    {
        // Arrange: the RFC's own resource request (§7.1 Figures 13, 14), with the access token of Figure 6.
        const string accessToken = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        const string proof =
            "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19"
            + ".eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9"
            + ".2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
        const string uri = "https://resource.example.org/protectedresource";
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1562262618));

        // Act
        var valid = await new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(time), time)
            .ValidateAsync([proof], "GET", uri, accessToken, TestContext.Current.CancellationToken);
        var otherToken = await new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(time), time)
            .ValidateAsync([proof], "GET", uri, accessToken + "x", TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", Assert.IsType<DPoPProofResult.Valid>(valid).Thumbprint);
        Assert.Equal(DPoPProofError.WrongAth, Assert.IsType<DPoPProofResult.Invalid>(otherToken).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/token")]
    [InlineData("ftp://broker.example/token")]
    public async Task ValidateAsync_RequestUriNotAbsoluteHttp_Throws(string requestUri)
    {
        await Assert.ThrowsAsync<ArgumentException>(
            async () => await Validator().ValidateAsync([Valid()], Method, requestUri, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ValidateAsync_EmptyMethod_Throws()
    {
        await Assert.ThrowsAsync<ArgumentException>(
            async () => await Validator().ValidateAsync([Valid()], "", TokenUri, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("HS256")]
    [InlineData("none")]
    [InlineData("EdDSA")]
    [InlineData("es256")]
    public void Options_AlgorithmOffTheAllowList_Throws(string alg)
    {
        Assert.Throws<ArgumentException>(() => new DPoPProofValidatorOptions { Algorithms = ["ES256", alg] });
    }

    [Fact]
    public void Options_Defaults_AreTheDocumentedOnes()
    {
        // Act
        var options = new DPoPProofValidatorOptions();

        // Assert
        Assert.Equal(["ES256", "ES384", "ES512", "PS256", "PS384", "PS512"], options.Algorithms);
        Assert.Equal(8192, options.MaxProofLength);
        Assert.Equal(TimeSpan.FromSeconds(60), options.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(10), options.ClockSkew);
        Assert.Equal(TimeSpan.FromSeconds(70), options.ReplayWindow);
        Assert.Equal(128, options.MaxJtiLength);
        Assert.Equal(4096, options.MaxRsaKeySizeInBits);
        Assert.Equal(1024, options.VerifierCacheSize);
        Assert.Throws<ArgumentException>(() => new DPoPProofValidatorOptions { Algorithms = [] });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { VerifierCacheSize = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { VerifierCacheSize = 1_000_001 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { MaxAge = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { ClockSkew = TimeSpan.FromSeconds(-1) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { MaxProofLength = 100 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofValidatorOptions { MaxRsaKeySizeInBits = 1024 });
    }

    [Fact]
    public void ReasonCodes_AreUniqueAndSnakeCase()
    {
        // Arrange
        var codes = Enum.GetValues<DPoPProofError>().Select(e => e.ToReasonCode()).ToList();

        // Assert
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, c => Assert.Matches("^[a-z]+(_[a-z]+)*$", c));
        Assert.Throws<ArgumentOutOfRangeException>(() => DPoPProofError.None.ToOAuthError());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofResult.Invalid(DPoPProofError.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DPoPProofResult.Invalid((DPoPProofError)999));
    }

    private DPoPProofValidator Validator() => new(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(_time), _time);

    private DPoPProofValidator NonceValidator(out DPoPNonce nonces)
    {
        nonces = new DPoPNonce(new DPoPNonceOptions { Key = NonceKey, Step = TimeSpan.FromMinutes(5) }, _time);
        return new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(_time), _time, nonces);
    }

    private static string RepeatedMember()
    {
        var jwk = EcJwk(P256).ToJsonString();
        var header = $$"""{"typ":"dpop+jwt","alg":"ES256","jwk":{{jwk}},"alg":"ES256"}""";
        return SignSegments(B64(header), B64(Claims().ToJsonString()), P256, "ES256");
    }

    private static string RepeatedJwkMember()
    {
        var jwk = EcJwk(P256);
        var members = $$"""{"kty":"EC","crv":"P-256","x":"{{jwk["x"]}}","y":"{{jwk["y"]}}","x":"{{jwk["x"]}}"}""";
        var header = """{"typ":"dpop+jwt","alg":"ES256","jwk":""" + members + "}";
        return SignSegments(B64(header), B64(Claims().ToJsonString()), P256, "ES256");
    }

    private static string StandardAlphabet()
    {
        // A random proof may happen to have neither '-' nor '_'; take one that has, so the case always tests something.
        var proof = Valid();
        while (proof.IndexOfAny(['-', '_']) < 0)
        {
            proof = Valid();
        }

        return proof.Replace('-', '+').Replace('_', '/');
    }

    private static string HmacWithPublicKey()
    {
        // The classic confusion: HS256 "keyed" with the public key the verifier holds.
        var jwk = EcJwk(P256);
        return Sign(Header(alg: "HS256", jwk: jwk), Claims(), System.Buffers.Text.Base64Url.DecodeFromChars((string)jwk["x"]!));
    }

    private static string Altered()
    {
        var proof = Valid();
        var parts = proof.Split('.');
        return parts[0] + "." + B64(Claims(uri: TokenUri).With("htu", "https://broker.example/token").ToJsonString()) + "." + parts[2];
    }

    private sealed class FaultyCache : IDPoPReplayCache
    {
        public ValueTask<bool> TryAddAsync(string key, TimeSpan lifetime, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug in the cache");
    }
}
