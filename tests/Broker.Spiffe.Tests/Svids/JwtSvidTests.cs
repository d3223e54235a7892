// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Broker.Testing.Pki;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Spiffe.Tests.Svids;

public sealed class JwtSvidTests
{
    private const string Sub = "spiffe://example.org/agent";
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ECDsa Es256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly ECDsa Es384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private static readonly ECDsa Es512 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
    private static readonly ECDsa Impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly RSA Rsa = RSA.Create(2048);
    private static readonly RSA Rsa1024 = RSA.Create(1024);

    private static readonly JwtBundleSet Bundles = new(
        new JwtBundle(TrustDomain.Parse("example.org"), [
            new("es256", TestKeys.ToJwk(Es256, "es256")),
            new("es384", TestKeys.ToJwk(Es384, "es384")),
            new("es512", TestKeys.ToJwk(Es512, "es512")),
            new("rsa", TestKeys.ToJwk(Rsa, "rsa")),
            new("rsa1024", TestKeys.ToJwk(Rsa1024, "rsa1024")),
        ]),
        new JwtBundle(TrustDomain.Parse("other.org"), [new("other", TestKeys.ToJwk(Impostor, "other"))]));

    private static readonly JwtSvidValidationOptions Options = new() { TimeProvider = new FakeTimeProvider(Now) };

    private static Dictionary<string, object> Header(string alg = "ES256", string kid = "es256") =>
        new() { ["alg"] = alg, ["kid"] = kid, ["typ"] = "JWT" };

    private static Dictionary<string, object> Claims() => new()
    {
        ["sub"] = Sub,
        ["aud"] = new[] { "broker" },
        ["exp"] = Now.AddMinutes(5).ToUnixTimeSeconds(),
        ["iat"] = Now.AddSeconds(-10).ToUnixTimeSeconds(),
    };

    private static string Es(Action<Dictionary<string, object>>? header = null, Action<Dictionary<string, object>>? claims = null, ECDsa? key = null)
    {
        var h = Header();
        header?.Invoke(h);
        var c = Claims();
        claims?.Invoke(c);
        return TestKeys.Sign(h, c, key ?? Es256, h.TryGetValue("alg", out var a) && a is string s && s.StartsWith("ES", StringComparison.Ordinal) ? s : "ES256");
    }

    [Theory]
    [InlineData("ES256", "es256")]
    [InlineData("ES384", "es384")]
    [InlineData("ES512", "es512")]
    [InlineData("RS256", "rsa")]
    [InlineData("RS384", "rsa")]
    [InlineData("RS512", "rsa")]
    [InlineData("PS256", "rsa")]
    [InlineData("PS384", "rsa")]
    [InlineData("PS512", "rsa")]
    public void Validate_ValidToken_ReturnsSvid(string alg, string kid)
    {
        // Arrange
        AsymmetricAlgorithm key = kid switch { "es256" => Es256, "es384" => Es384, "es512" => Es512, _ => Rsa };
        var token = TestKeys.Sign(Header(alg, kid), Claims(), key, alg);

        // Act
        var result = JwtSvid.Validate(token, Bundles, ["other-audience", "broker"], Options);

        // Assert
        Assert.Null(Error(result));
        var svid = Assert.IsType<JwtSvidValidationSuccess>(result).Svid;
        Assert.True(result.IsValid);
        Assert.Equal(SpiffeId.Parse(Sub), svid.Id);
        Assert.Equal(["broker"], svid.Audience);
        Assert.Equal(Now.AddMinutes(5), svid.Expiry);
        Assert.Equal(kid, svid.KeyId);
        Assert.Equal(Sub, svid.Token.Subject);
        Assert.Equal(token, svid.Marshal());
        Assert.Same(Bundles.Bundles.Single(b => b.TrustDomain.Name == "example.org").Authorities[kid], ((JwtSvidValidationSuccess)result).Authority);
    }

    [Fact]
    public void Validate_StringAudienceNoTypAndJoseTyp_AreAccepted()
    {
        var stringAud = Es(claims: c => c["aud"] = "broker");
        var noTyp = Es(header: h => h.Remove("typ"));
        var jose = Es(header: h => h["typ"] = "JOSE");

        // typ is a media type: case-insensitive, application/ prefix optional (RFC 7515 §4.1.9).
        var lowercase = Es(header: h => h["typ"] = "jwt");
        var mediaType = Es(header: h => h["typ"] = "application/JWT");

        Assert.True(JwtSvid.Validate(stringAud, Bundles, ["broker"], Options).IsValid);
        Assert.True(JwtSvid.Validate(noTyp, Bundles, ["broker"], Options).IsValid);
        Assert.True(JwtSvid.Validate(jose, Bundles, ["broker"], Options).IsValid);
        Assert.True(JwtSvid.Validate(lowercase, Bundles, ["broker"], Options).IsValid);
        Assert.True(JwtSvid.Validate(mediaType, Bundles, ["broker"], Options).IsValid);
    }

    [Fact]
    public void Validate_ExpiredWithinClockSkew_IsAccepted()
    {
        var token = Es(claims: c => c["exp"] = Now.AddSeconds(-20).ToUnixTimeSeconds());
        Assert.True(JwtSvid.Validate(token, Bundles, ["broker"], Options).IsValid);
        var strict = new JwtSvidValidationOptions { TimeProvider = new FakeTimeProvider(Now), ClockSkew = TimeSpan.Zero };
        Assert.Equal(JwtSvidValidationError.Expired, Error(JwtSvid.Validate(token, Bundles, ["broker"], strict)));
    }

    private static JwtSvidValidationError? Error(JwtSvidValidationResult result) => (result as JwtSvidValidationFailure)?.Error;

    private static readonly Dictionary<string, Func<string>> Cases = new()
    {
        ["empty"] = () => "",
        ["two parts"] = () => "a.b",
        ["four parts"] = () => Es() + ".x",
        ["jwe"] = () => "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
        ["garbage"] = () => "!!!.???.***",
        ["header not json"] = () => "bm90IGpzb24." + Es().Split('.')[1] + ".AAAA",
        ["empty header"] = () => "." + Es().Split('.')[1] + ".AAAA",
        ["alg none"] = () => TestKeys.Sign(new Dictionary<string, object> { ["alg"] = "none", ["kid"] = "es256" }, Claims(), null, "none"),
        ["alg HS256"] = () => TestKeys.SignHmac(Header("HS256"), Claims(), new byte[32]),
        ["alg missing"] = () => Es(header: h => h.Remove("alg")),
        ["alg ES256K"] = () => Es(header: h => h["alg"] = "ES256K"),
        ["alg lowercase"] = () => Es(header: h => h["alg"] = "es256"),
        ["alg not string"] = () => Es(header: h => h["alg"] = 1),
        ["crit"] = () => Es(header: h => h["crit"] = new[] { "exp" }),
        ["typ at+jwt"] = () => Es(header: h => h["typ"] = "at+jwt"),
        ["typ empty"] = () => Es(header: h => h["typ"] = ""),
        ["typ dpop+jwt"] = () => Es(header: h => h["typ"] = "dpop+jwt"),
        ["kid missing"] = () => Es(header: h => h.Remove("kid")),
        ["kid empty"] = () => Es(header: h => h["kid"] = ""),
        ["sub missing"] = () => Es(claims: c => c.Remove("sub")),
        ["sub not spiffe"] = () => Es(claims: c => c["sub"] = "user@example.org"),
        ["sub uppercase td"] = () => Es(claims: c => c["sub"] = "spiffe://EXAMPLE.org/agent"),
        ["sub trailing slash"] = () => Es(claims: c => c["sub"] = "spiffe://example.org/agent/"),
        ["sub number"] = () => Es(claims: c => c["sub"] = 42),
        ["sub unknown td"] = () => Es(claims: c => c["sub"] = "spiffe://unknown.org/agent"),
        ["iss names trusted td, sub does not"] = () => Es(claims: c => { c["sub"] = "spiffe://evil.org/agent"; c["iss"] = "spiffe://example.org"; }),
        ["kid unknown"] = () => Es(header: h => h["kid"] = "nope"),
        ["kid from another td"] = () => Es(header: h => h["kid"] = "other", key: Impostor),
        ["ES256 with rsa key"] = () => Es(header: h => h["kid"] = "rsa"),
        ["ES384 with P-256 key"] = () => TestKeys.Sign(Header("ES384", "es256"), Claims(), Es256, "ES384"),
        ["RS256 with EC key"] = () => TestKeys.Sign(Header("RS256", "es256"), Claims(), Rsa, "RS256"),
        ["signed by impostor"] = () => Es(key: Impostor),
        ["payload tampered"] = () => Tamper(Es()),
        ["signature empty"] = () => Es()[..(Es().LastIndexOf('.') + 1)],
        ["signature truncated"] = () => TruncateSignature(Es()),
        ["signature padded"] = () => Es() + "==",
        ["signature not base64url"] = () => Es()[..^2] + "+/",
        ["aud missing"] = () => Es(claims: c => c.Remove("aud")),
        ["aud empty array"] = () => Es(claims: c => c["aud"] = Array.Empty<string>()),
        ["aud empty string"] = () => Es(claims: c => c["aud"] = ""),
        ["aud other"] = () => Es(claims: c => c["aud"] = new[] { "someone-else" }),
        ["aud case differs"] = () => Es(claims: c => c["aud"] = "Broker"),
        ["aud number"] = () => Es(claims: c => c["aud"] = 7),
        ["exp missing"] = () => Es(claims: c => c.Remove("exp")),
        ["exp past"] = () => Es(claims: c => c["exp"] = Now.AddMinutes(-1).ToUnixTimeSeconds()),
        ["exp string"] = () => Es(claims: c => c["exp"] = "tomorrow"),
        ["exp negative"] = () => Es(claims: c => c["exp"] = -1),
        ["nbf future"] = () => Es(claims: c => c["nbf"] = Now.AddMinutes(2).ToUnixTimeSeconds()),
        ["iat future"] = () => Es(claims: c => c["iat"] = Now.AddMinutes(2).ToUnixTimeSeconds()),
        ["too large"] = () => Es(claims: c => c["pad"] = new string('a', 9000)),
        ["RS256 with 1024-bit key"] = () => TestKeys.Sign(Header("RS256", "rsa1024"), Claims(), Rsa1024, "RS256"),
        ["claims not an object"] = () => Es()[..Es().IndexOf('.', StringComparison.Ordinal)] + ".W10." + "AAAA",
        ["trailing data"] = () => TestKeys.SignRaw("""{"alg":"ES256","kid":"es256"}""", Raw() + " {}", Es256),
        ["duplicate exp"] = () => TestKeys.SignRaw("""{"alg":"ES256","kid":"es256"}""", Raw().Replace("\"exp\":", "\"exp\":1,\"exp\":", StringComparison.Ordinal), Es256),
        ["duplicate alg"] = () => TestKeys.SignRaw("""{"alg":"none","kid":"es256","alg":"ES256"}""", Raw(), Es256),
    };

    private static string Raw() => System.Text.Json.JsonSerializer.Serialize(Claims());

    private static string TruncateSignature(string token)
    {
        // Three octets fewer, re-encoded canonically: a short signature, not a malformed segment.
        var cut = token.LastIndexOf('.') + 1;
        var signature = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(cut));
        return token[..cut] + System.Buffers.Text.Base64Url.EncodeToString(signature.AsSpan(0, signature.Length - 3));
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var claims = Claims();
        claims["sub"] = "spiffe://example.org/admin";
        var forged = TestKeys.Sign(Header(), claims, Impostor, "ES256").Split('.');
        return parts[0] + "." + forged[1] + "." + parts[2];
    }

    [Theory]
    [InlineData("empty", JwtSvidValidationError.Malformed)]
    [InlineData("two parts", JwtSvidValidationError.Malformed)]
    [InlineData("four parts", JwtSvidValidationError.Malformed)]
    [InlineData("jwe", JwtSvidValidationError.Malformed)]
    [InlineData("garbage", JwtSvidValidationError.InvalidEncoding)]
    [InlineData("header not json", JwtSvidValidationError.InvalidJson)]
    [InlineData("claims not an object", JwtSvidValidationError.InvalidJson)]
    [InlineData("trailing data", JwtSvidValidationError.TrailingData)]
    [InlineData("duplicate exp", JwtSvidValidationError.DuplicateMember)]
    [InlineData("duplicate alg", JwtSvidValidationError.DuplicateMember)]
    [InlineData("empty header", JwtSvidValidationError.Malformed)]
    [InlineData("alg none", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("alg HS256", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("alg missing", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("alg ES256K", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("alg lowercase", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("alg not string", JwtSvidValidationError.UnsupportedAlgorithm)]
    [InlineData("crit", JwtSvidValidationError.UnsupportedCriticalHeader)]
    [InlineData("typ at+jwt", JwtSvidValidationError.UnsupportedType)]
    [InlineData("typ empty", JwtSvidValidationError.UnsupportedType)]
    [InlineData("typ dpop+jwt", JwtSvidValidationError.UnsupportedType)]
    [InlineData("kid missing", JwtSvidValidationError.MissingKeyId)]
    [InlineData("kid empty", JwtSvidValidationError.MissingKeyId)]
    [InlineData("sub missing", JwtSvidValidationError.MissingSubject)]
    [InlineData("sub not spiffe", JwtSvidValidationError.InvalidSubject)]
    [InlineData("sub uppercase td", JwtSvidValidationError.InvalidSubject)]
    [InlineData("sub trailing slash", JwtSvidValidationError.InvalidSubject)]
    [InlineData("sub number", JwtSvidValidationError.InvalidClaimType)]
    [InlineData("sub unknown td", JwtSvidValidationError.UnknownTrustDomain)]
    [InlineData("iss names trusted td, sub does not", JwtSvidValidationError.UnknownTrustDomain)]
    [InlineData("kid unknown", JwtSvidValidationError.UnknownKey)]
    [InlineData("kid from another td", JwtSvidValidationError.UnknownKey)]
    [InlineData("ES256 with rsa key", JwtSvidValidationError.KeyAlgorithmMismatch)]
    [InlineData("ES384 with P-256 key", JwtSvidValidationError.KeyAlgorithmMismatch)]
    [InlineData("RS256 with EC key", JwtSvidValidationError.KeyAlgorithmMismatch)]
    [InlineData("RS256 with 1024-bit key", JwtSvidValidationError.KeyAlgorithmMismatch)]
    [InlineData("signed by impostor", JwtSvidValidationError.InvalidSignature)]
    [InlineData("payload tampered", JwtSvidValidationError.InvalidSignature)]
    [InlineData("signature empty", JwtSvidValidationError.Malformed)]
    [InlineData("signature truncated", JwtSvidValidationError.InvalidSignature)]
    [InlineData("signature not base64url", JwtSvidValidationError.InvalidEncoding)]
    [InlineData("signature padded", JwtSvidValidationError.InvalidEncoding)]
    [InlineData("aud missing", JwtSvidValidationError.MissingAudience)]
    [InlineData("aud empty array", JwtSvidValidationError.MissingAudience)]
    [InlineData("aud empty string", JwtSvidValidationError.MissingAudience)]
    [InlineData("aud other", JwtSvidValidationError.AudienceMismatch)]
    [InlineData("aud case differs", JwtSvidValidationError.AudienceMismatch)]
    [InlineData("aud number", JwtSvidValidationError.InvalidClaimType)]
    [InlineData("exp missing", JwtSvidValidationError.MissingExpiry)]
    [InlineData("exp past", JwtSvidValidationError.Expired)]
    [InlineData("exp string", JwtSvidValidationError.InvalidNumericDate)]
    [InlineData("exp negative", JwtSvidValidationError.InvalidNumericDate)]
    [InlineData("nbf future", JwtSvidValidationError.NotYetValid)]
    [InlineData("iat future", JwtSvidValidationError.IssuedInFuture)]
    [InlineData("too large", JwtSvidValidationError.TooLarge)]
    public void Validate_InvalidToken_ReturnsError(string caseName, JwtSvidValidationError expected)
    {
        // Arrange
        var token = Cases[caseName]();

        // Act
        var result = JwtSvid.Validate(token, Bundles, ["broker"], Options);

        // Assert
        var failure = Assert.IsType<JwtSvidValidationFailure>(result);
        Assert.Equal(expected, failure.Error);
        Assert.False(result.IsValid);
        Assert.False(result.TryGetSvid(out _));
        Assert.StartsWith("jwtsvid: ", failure.Message, StringComparison.Ordinal);
        if (token.Length > 0)
        {
            Assert.DoesNotContain(token, failure.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("agent", failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_EveryErrorValue_HasATheoryCase()
    {
        // Guards the table above: adding an enum value without a test case fails here.
        var covered = typeof(JwtSvidTests).GetMethod(nameof(Validate_InvalidToken_ReturnsError))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false)
            .Cast<InlineDataAttribute>()
            .Select(a => (JwtSvidValidationError)a.Data[1]!)
            .ToHashSet();
        Assert.Equal(Enum.GetValues<JwtSvidValidationError>().ToHashSet(), covered);
    }

    [Fact]
    public void Validate_ReadTokenWithOtherReaderOptions_StillAppliesTheJwtSvidRules()
    {
        // A caller that read the token for another purpose (here: accepting at+jwt) cannot widen what a JWT-SVID is.
        var reader = new Broker.Jose.CompactJwsOptions { AcceptedTypes = Broker.Jose.JwsTypes.Jwt.Union(Broker.Jose.JwsTypes.AccessToken), RequireKeyId = false };
        Assert.True(Broker.Jose.CompactJws.TryRead(Es(), reader, out var valid, out _));
        Assert.True(Broker.Jose.CompactJws.TryRead(Es(header: h => h["typ"] = "at+jwt"), reader, out var accessToken, out _));
        Assert.True(Broker.Jose.CompactJws.TryRead(Es(header: h => h.Remove("kid")), reader, out var noKid, out _));

        Assert.True(JwtSvid.Validate(valid, Bundles, ["broker"], Options).IsValid);
        Assert.Equal(JwtSvidValidationError.UnsupportedType, Error(JwtSvid.Validate(accessToken, Bundles, ["broker"], Options)));
        Assert.Equal(JwtSvidValidationError.MissingKeyId, Error(JwtSvid.Validate(noKid, Bundles, ["broker"], Options)));
        Assert.Equal(JwtSvidValidationError.TooLarge, Error(JwtSvid.Validate(valid, Bundles, ["broker"], new JwtSvidValidationOptions { MaxTokenLength = 16, TimeProvider = Options.TimeProvider })));
    }

    [Fact]
    public void Validate_EmptyAudienceList_Throws()
    {
        Assert.Throws<ArgumentException>(() => JwtSvid.Validate(Es(), Bundles, [], Options));
    }

    [Fact]
    public void Options_ClockSkewAboveFiveMinutes_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new JwtSvidValidationOptions { ClockSkew = TimeSpan.FromMinutes(6) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new JwtSvidValidationOptions { ClockSkew = TimeSpan.FromSeconds(-1) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new JwtSvidValidationOptions { MaxTokenLength = 0 });
    }

    [Fact]
    public void ParseInsecure_SkipsSignatureAudienceAndTime_ButChecksStructure()
    {
        // Arrange: wrong key, expired, foreign audience — all unchecked by design.
        var token = Es(claims: c => { c["exp"] = Now.AddDays(-1).ToUnixTimeSeconds(); c["aud"] = "x"; }, key: Impostor);

        // Act
        var svid = JwtSvid.ParseInsecure(token);

        // Assert
        Assert.Equal(SpiffeId.Parse(Sub), svid.Id);
        Assert.Equal(["x"], svid.Audience);
        Assert.Throws<FormatException>(() => JwtSvid.ParseInsecure(Cases["alg none"]()));
        Assert.Throws<FormatException>(() => JwtSvid.ParseInsecure(Cases["sub missing"]()));
    }
}
