using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Broker.Jose.Tests.TestTokens;

namespace Broker.Jose.Tests;

public sealed class CompactJwsTests
{
    // Room for the hostile many-member objects below; the default limit has its own test.
    private static readonly CompactJwsOptions Options = new() { MaxTokenLength = 1024 * 1024 };

    private static JwsError ErrorOf(string token, CompactJwsOptions? options = null)
    {
        CompactJws.TryRead(token, options ?? Options, out _, out var error);
        return error;
    }

    [Fact]
    public void TryRead_ValidToken_ExposesTheRegisteredMembers()
    {
        var token = Sign();

        Assert.True(CompactJws.TryRead(token, Options, out var jws, out var error));

        Assert.Equal(JwsError.None, error);
        Assert.Equal("ES256", jws.Algorithm);
        Assert.Equal("k1", jws.KeyId);
        Assert.Equal("JWT", jws.Type);
        Assert.Equal("https://issuer.test", jws.Issuer);
        Assert.Equal("workload", jws.Subject);
        Assert.Equal(["broker"], jws.Audience);
        Assert.Equal("id-1", jws.JwtId);
        Assert.Equal(1700000300, jws.ExpirationTime);
        Assert.Equal(1700000000, jws.NotBefore);
        Assert.Equal(1700000000, jws.IssuedAt);
        Assert.Equal(Payload, Encoding.UTF8.GetString(jws.Payload.Span));
        Assert.Equal(Header, Encoding.UTF8.GetString(jws.Header.Span));
        Assert.Equal(token[..token.LastIndexOf('.')], jws.SigningInput.ToString());
        Assert.Equal(token.Split('.')[1], jws.EncodedPayload.ToString());
        Assert.DoesNotContain(token.Split('.')[2], jws.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_StringAudienceFractionalDatesAndEscapedNames_AreReadAsEveryParserReadsThem()
    {
        var token = Sign(payload: """{"\u0069ss":"i","aud":"broker","exp":1700000300.5,"iat":0}""");

        Assert.True(CompactJws.TryRead(token, Options, out var jws, out _));

        Assert.Equal("i", jws.Issuer);
        Assert.Equal(["broker"], jws.Audience);
        Assert.Equal(1700000300.5, jws.ExpirationTime);
        Assert.Equal(0, jws.IssuedAt);
        Assert.Null(jws.NotBefore);
        Assert.Null(jws.Subject);
    }

    public static TheoryData<string, string, JwsError> Refused => new()
    {
        // :: Segments.
        { "empty", "", JwsError.Malformed },
        { "one segment", B64(Header), JwsError.Malformed },
        { "two segments", B64(Header) + "." + B64(Payload), JwsError.Malformed },
        { "four segments", Sign() + ".AAAA", JwsError.Malformed },
        { "JWE, five segments", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", JwsError.Malformed },
        { "empty header", "." + B64(Payload) + ".AAAA", JwsError.Malformed },
        { "empty payload", B64(Header) + "..AAAA", JwsError.Malformed },
        { "empty signature", B64(Header) + "." + B64(Payload) + ".", JwsError.Malformed },
        { "JSON serialisation", "{\"payload\":\"" + B64(Payload) + "\"}", JwsError.Malformed },

        // :: Base64url.
        { "padded header", Padded(0), JwsError.InvalidBase64Url },
        { "padded payload", Padded(1), JwsError.InvalidBase64Url },
        { "padded signature", Sign() + "==", JwsError.InvalidBase64Url },
        { "standard alphabet", StandardAlphabet(), JwsError.InvalidBase64Url },
        { "whitespace in a segment", Sign().Insert(10, "\n"), JwsError.InvalidBase64Url },
        { "space in a segment", Sign().Insert(10, " "), JwsError.InvalidBase64Url },
        { "percent-encoded", Sign().Replace("-", "%2D", StringComparison.Ordinal).Replace("_", "%5F", StringComparison.Ordinal) + "%3D", JwsError.InvalidBase64Url },
        { "non-canonical header", NonCanonicalSegment(0), JwsError.InvalidBase64Url },
        { "non-canonical payload", NonCanonicalSegment(1), JwsError.InvalidBase64Url },
        { "non-canonical signature", NonCanonicalSegment(2), JwsError.InvalidBase64Url },
        { "length 1 mod 4", LengthOneModFour(), JwsError.InvalidBase64Url },
        { "non-ASCII", Sign().Insert(5, "é"), JwsError.InvalidBase64Url },

        // :: JSON.
        { "header not JSON", Sign(header: "alg=ES256"), JwsError.InvalidJson },
        { "header an array", Sign(header: """[{"alg":"ES256","kid":"k1"}]"""), JwsError.InvalidJson },
        { "payload an array", Sign(payload: "[]"), JwsError.InvalidJson },
        { "payload a string", Sign(payload: "\"x\""), JwsError.InvalidJson },
        { "payload a number", Sign(payload: "123"), JwsError.InvalidJson },
        { "payload null", Sign(payload: "null"), JwsError.InvalidJson },
        { "payload with a byte order mark", Sign(payload: "\uFEFF" + Payload), JwsError.InvalidJson },
        { "payload with leading whitespace", Sign(payload: " " + Payload), JwsError.InvalidJson },
        { "payload invalid UTF-8", InvalidUtf8Payload(), JwsError.InvalidJson },
        { "payload unterminated", Sign(payload: Payload[..^1]), JwsError.InvalidJson },
        { "payload with a comment", Sign(payload: Payload.Insert(1, "/*c*/")), JwsError.InvalidJson },
        { "payload with a trailing comma", Sign(payload: Payload[..^1] + ",}"), JwsError.InvalidJson },
        { "payload with an escaped lone surrogate", Sign(payload: Payload.Insert(1, "\"x\":\"\\ud800\",")), JwsError.InvalidJson },
        { "payload with an escaped lone surrogate in a name", Sign(payload: Payload.Insert(1, "\"\\udc00\":1,")), JwsError.InvalidJson },
        { "payload with a raw control character", Sign(payload: Payload.Insert(1, "\"x\":\"a\u0001b\",")), JwsError.InvalidJson },
        { "payload nested 40 deep", Sign(payload: "{\"a\":" + new string('[', 40) + new string(']', 40) + "}"), JwsError.InvalidJson },
        { "header trailing garbage", Sign(header: Header + "xyz"), JwsError.TrailingData },
        { "payload trailing garbage", Sign(payload: Payload + "xyz"), JwsError.TrailingData },
        { "payload followed by a second object", Sign(payload: Payload + """{"sub":"admin"}"""), JwsError.TrailingData },
        { "payload trailing whitespace", Sign(payload: Payload + "\n"), JwsError.TrailingData },
        { "payload trailing NUL", Sign(payload: Payload + "\0"), JwsError.TrailingData },

        // :: Duplicate members.
        { "duplicate exp, expired first", Sign(payload: """{"sub":"w","exp":1,"exp":1700000300}"""), JwsError.DuplicateMember },
        { "duplicate exp, expired last", Sign(payload: """{"sub":"w","exp":1700000300,"exp":1}"""), JwsError.DuplicateMember },
        { "duplicate iss", Sign(payload: """{"iss":"https://evil.test","sub":"w","iss":"https://issuer.test"}"""), JwsError.DuplicateMember },
        { "duplicate aud", Sign(payload: """{"aud":"other","sub":"w","aud":["broker"]}"""), JwsError.DuplicateMember },
        { "duplicate alg with none", Sign(header: """{"alg":"none","kid":"k1","alg":"ES256"}"""), JwsError.DuplicateMember },
        { "duplicate alg with none last", Sign(header: """{"alg":"ES256","kid":"k1","alg":"none"}"""), JwsError.DuplicateMember },
        { "duplicate kid", Sign(header: """{"alg":"ES256","kid":"attacker","kid":"k1"}"""), JwsError.DuplicateMember },
        { "duplicate by escape", Sign(payload: """{"exp":1,"\u0065xp":1700000300}"""), JwsError.DuplicateMember },
        { "duplicate nested", Sign(payload: """{"sub":"w","ns":{"name":"a","name":"b"}}"""), JwsError.DuplicateMember },
        { "duplicate deep in an array", Sign(payload: """{"sub":"w","l":[1,{"a":{"b":1,"c":2,"b":3}}]}"""), JwsError.DuplicateMember },
        { "duplicate in a header object", Sign(header: """{"alg":"ES256","kid":"k1","jwk":{"kty":"EC","kty":"RSA"}}"""), JwsError.DuplicateMember },
        { "duplicate among many members", Sign(payload: ManyMembers(2000, duplicateAt: 1999)), JwsError.DuplicateMember },
        { "duplicate first among many members", Sign(payload: ManyMembers(2000, duplicateAt: 1)), JwsError.DuplicateMember },

        // :: alg.
        { "alg none", Sign(header: """{"alg":"none","kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg none unsigned", B64("""{"alg":"none","kid":"k1"}""") + "." + B64(Payload) + ".", JwsError.UnsupportedAlgorithm },
        { "alg HS256", Sign(header: """{"alg":"HS256","kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg missing", Sign(header: """{"kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg a number", Sign(header: """{"alg":256,"kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg null", Sign(header: """{"alg":null,"kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg an array", Sign(header: """{"alg":["ES256"],"kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg lowercase", Sign(header: """{"alg":"es256","kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg ES256K", Sign(header: """{"alg":"ES256K","kid":"k1"}"""), JwsError.UnsupportedAlgorithm },
        { "alg EdDSA", Sign(header: """{"alg":"EdDSA","kid":"k1"}"""), JwsError.UnsupportedAlgorithm },

        // :: crit, typ, kid.
        { "crit string", Sign(header: """{"alg":"ES256","kid":"k1","crit":"exp"}"""), JwsError.CriticalHeader },
        { "crit array", Sign(header: """{"alg":"ES256","kid":"k1","crit":["exp"],"exp":1}"""), JwsError.CriticalHeader },
        { "crit empty array", Sign(header: """{"alg":"ES256","kid":"k1","crit":[]}"""), JwsError.CriticalHeader },
        { "crit null", Sign(header: """{"alg":"ES256","kid":"k1","crit":null}"""), JwsError.CriticalHeader },
        { "crit b64", Sign(header: """{"alg":"ES256","kid":"k1","b64":false,"crit":["b64"]}"""), JwsError.CriticalHeader },
        { "typ dpop+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"dpop+jwt"}"""), JwsError.UnsupportedType },
        { "typ statuslist+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"statuslist+jwt"}"""), JwsError.UnsupportedType },
        { "typ oauth-id-jag+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"oauth-id-jag+jwt"}"""), JwsError.UnsupportedType },
        { "typ txntoken+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"txntoken+jwt"}"""), JwsError.UnsupportedType },
        { "typ secevent+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"secevent+jwt"}"""), JwsError.UnsupportedType },
        { "typ logout+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"logout+jwt"}"""), JwsError.UnsupportedType },
        { "typ at+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"at+jwt"}"""), JwsError.UnsupportedType },
        { "typ application/dpop+jwt", Sign(header: """{"alg":"ES256","kid":"k1","typ":"application/dpop+jwt"}"""), JwsError.UnsupportedType },
        { "typ empty", Sign(header: """{"alg":"ES256","kid":"k1","typ":""}"""), JwsError.UnsupportedType },
        { "typ a number", Sign(header: """{"alg":"ES256","kid":"k1","typ":1}"""), JwsError.UnsupportedType },
        { "typ null", Sign(header: """{"alg":"ES256","kid":"k1","typ":null}"""), JwsError.UnsupportedType },
        { "kid missing", Sign(header: """{"alg":"ES256"}"""), JwsError.MissingKeyId },
        { "kid empty", Sign(header: """{"alg":"ES256","kid":""}"""), JwsError.MissingKeyId },
        { "kid a number", Sign(header: """{"alg":"ES256","kid":1}"""), JwsError.InvalidClaimType },
        { "kid null", Sign(header: """{"alg":"ES256","kid":null}"""), JwsError.InvalidClaimType },
        { "cty a number", Sign(header: """{"alg":"ES256","kid":"k1","cty":1}"""), JwsError.InvalidClaimType },
        { "x5t a number", Sign(header: """{"alg":"ES256","kid":"k1","x5t":1}"""), JwsError.InvalidClaimType },
        { "zip an object", Sign(header: """{"alg":"ES256","kid":"k1","zip":{}}"""), JwsError.InvalidClaimType },
        { "azp a number", Sign(payload: """{"sub":"w","azp":1}"""), JwsError.InvalidClaimType },

        // :: Claim types.
        { "iss a number", Sign(payload: """{"iss":1,"sub":"w"}"""), JwsError.InvalidClaimType },
        { "sub a number", Sign(payload: """{"sub":42}"""), JwsError.InvalidClaimType },
        { "sub an object", Sign(payload: """{"sub":{"id":"w"}}"""), JwsError.InvalidClaimType },
        { "sub null", Sign(payload: """{"sub":null}"""), JwsError.InvalidClaimType },
        { "jti a number", Sign(payload: """{"sub":"w","jti":7}"""), JwsError.InvalidClaimType },
        { "aud a number", Sign(payload: """{"sub":"w","aud":7}"""), JwsError.InvalidClaimType },
        { "aud an object", Sign(payload: """{"sub":"w","aud":{"a":"broker"}}"""), JwsError.InvalidClaimType },
        { "aud with a number", Sign(payload: """{"sub":"w","aud":["broker",7]}"""), JwsError.InvalidClaimType },
        { "aud with a nested array", Sign(payload: """{"sub":"w","aud":["broker",["x"]]}"""), JwsError.InvalidClaimType },
        { "exp a string", Sign(payload: """{"sub":"w","exp":"1700000300"}"""), JwsError.InvalidNumericDate },
        { "nbf a string", Sign(payload: """{"sub":"w","nbf":"1700000000"}"""), JwsError.InvalidNumericDate },
        { "iat a string", Sign(payload: """{"sub":"w","iat":"1700000000"}"""), JwsError.InvalidNumericDate },
        { "exp negative", Sign(payload: """{"sub":"w","exp":-1}"""), JwsError.InvalidNumericDate },
        { "exp past 9999", Sign(payload: """{"sub":"w","exp":253402300800}"""), JwsError.InvalidNumericDate },
        { "exp overflowing", Sign(payload: """{"sub":"w","exp":1e400}"""), JwsError.InvalidNumericDate },
        { "exp true", Sign(payload: """{"sub":"w","exp":true}"""), JwsError.InvalidNumericDate },
        { "exp null", Sign(payload: """{"sub":"w","exp":null}"""), JwsError.InvalidNumericDate },
        { "exp an array", Sign(payload: """{"sub":"w","exp":[1700000300]}"""), JwsError.InvalidNumericDate },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void TryRead_DefectiveToken_IsRefusedWithItsReason(string name, string token, JwsError expected)
    {
        var read = CompactJws.TryRead(token, Options, out var jws, out var error);

        Assert.False(read, name);
        Assert.Null(jws);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryRead_EveryErrorValue_HasACase()
    {
        // Guards the table above: a new error without a test case fails here.
        var covered = Refused.Select(row => (JwsError)row.Data.Item3).Append(JwsError.None).Append(JwsError.TooLarge).ToHashSet();
        Assert.Equal(Enum.GetValues<JwsError>().ToHashSet(), covered);
    }

    [Fact]
    public void TryRead_LongerThanTheLimit_IsTooLarge()
    {
        var token = Sign(payload: Payload.Insert(1, $"\"pad\":\"{new string('x', 300)}\","));
        var options = new CompactJwsOptions { MaxTokenLength = token.Length - 1 };

        Assert.Equal(JwsError.TooLarge, ErrorOf(token, options));
        Assert.Equal(JwsError.None, ErrorOf(token, new CompactJwsOptions { MaxTokenLength = token.Length }));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("JWT")]
    [InlineData("jwt")]
    [InlineData("JOSE")]
    [InlineData("application/jwt")]
    [InlineData("Application/JOSE")]
    public void TryRead_PlainJwtTypes_AreAcceptedByDefault(string? typ)
    {
        var header = typ is null ? """{"alg":"ES256","kid":"k1"}""" : $$"""{"alg":"ES256","kid":"k1","typ":"{{typ}}"}""";

        Assert.Equal(JwsError.None, ErrorOf(Sign(header: header)));
    }

    [Theory]
    [InlineData("at+jwt", JwsError.None)]
    [InlineData("application/at+jwt", JwsError.None)]
    [InlineData("AT+JWT", JwsError.None)]
    [InlineData("JWT", JwsError.UnsupportedType)]
    [InlineData(null, JwsError.UnsupportedType)]
    [InlineData("at+jwt+x", JwsError.UnsupportedType)]
    [InlineData("application/application/at+jwt", JwsError.UnsupportedType)]
    public void TryRead_AccessTokenType_IsRequiredWhenAsked(string? typ, JwsError expected)
    {
        var header = typ is null ? """{"alg":"ES256","kid":"k1"}""" : $$"""{"alg":"ES256","kid":"k1","typ":"{{typ}}"}""";

        Assert.Equal(expected, ErrorOf(Sign(header: header), new CompactJwsOptions { AcceptedTypes = JwsTypes.AccessToken }));
    }

    [Fact]
    public void TryRead_DpopProofOptions_AcceptADpopProofWithoutKid()
    {
        var options = new CompactJwsOptions { AcceptedTypes = JwsTypes.DpopProof, RequireKeyId = false };
        var proof = Sign(header: """{"alg":"ES256","typ":"dpop+jwt","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b"}}""", payload: """{"jti":"j","htm":"POST","htu":"https://broker.test/oauth2/token","iat":1700000000}""");

        Assert.True(CompactJws.TryRead(proof, options, out var jws, out _));
        Assert.Null(jws.KeyId);
        Assert.Equal(JwsError.UnsupportedType, ErrorOf(proof));
    }

    [Fact]
    public void TryRead_WhateverTheGatePasses_MicrosoftIdentityModelReadsAlike()
    {
        // The gate exists so that the string a later JOSE library reads holds no ambiguity: check the claims it sees.
        string[] tokens =
        [
            Sign(),
            Sign(payload: """{"\u0069ss":"i","aud":"broker","exp":1700000300,"x":[{"a":1},{"a":2}],"n":1e300}"""),
            Sign(header: """{"alg":"ES256","kid":"k\u0031","typ":"JOSE"}"""),
        ];
        foreach (var token in tokens)
        {
            Assert.True(CompactJws.TryRead(token, Options, out var jws, out _));
            var other = new JsonWebToken(token);
            Assert.Equal(other.Alg, jws.Algorithm);
            Assert.Equal(other.Kid, jws.KeyId);
            Assert.Equal(other.Issuer.Length == 0 ? null : other.Issuer, jws.Issuer);
            Assert.Equal(other.Audiences, jws.Audience);
            Assert.Equal(other.TryGetPayloadValue<long>("exp", out var exp) ? exp : null, (long?)jws.ExpirationTime);
        }
    }

    [Theory]
    [InlineData("""{"alg":"ES256","kid":"k1","cty":"JWT","x5t":"AAAA","zip":"DEF","enc":1,"x":[{"a":null}]}""", Payload)]
    [InlineData(Header, """{"sub":"w","exp":1700000300.5,"nbf":1.7e9,"iat":253402300799}""")]
    [InlineData(Header, """{"sub":"w","aud":[],"azp":"client","act":{"sub":"x","act":{"sub":"y"}}}""")]
    [InlineData(Header, """{"sub":"w","n":1e400,"m":-1e400,"big":123456789012345678901234567890,"z":null,"t":true}""")]
    [InlineData(Header, """{"s\u0075b":"w","\u00e9":"\u00e9\ud83d\ude00","x":{"y":{"z":[[[]]]}}}""")]
    public void TryRead_OddButValidTokens_MicrosoftIdentityModelParsesThemToo(string header, string payload)
    {
        // What the gate passes, another JOSE library must read without error (it reads cty, x5t, zip, azp as strings).
        var token = Sign(header, payload);

        Assert.True(CompactJws.TryRead(token, Options, out var jws, out var error), error.ToString());
        var other = new JsonWebToken(token);
        Assert.Equal(other.Subject, jws.Subject);
    }

    [Fact]
    public void HasClaim_TopLevelOnly_NullCounts()
    {
        Assert.True(CompactJws.TryRead(Sign(payload: """{"sub":"w","act":null,"ns":{"cnf":1}}"""), Options, out var jws, out _));

        Assert.True(jws.HasClaim("act"));
        Assert.True(jws.HasClaim("sub"));
        Assert.False(jws.HasClaim("cnf"));
        Assert.False(jws.HasClaim("ns/cnf"));
    }

    [Fact]
    public void VerifySignature_TrustedKey_VerifiesAndATamperedTokenDoesNot()
    {
        var key = new ECDsaSecurityKey(P256);
        var token = Sign();
        var parts = token.Split('.');
        var tampered = parts[0] + "." + B64(Payload.Replace("workload", "admin", StringComparison.Ordinal)) + "." + parts[2];
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.True(CompactJws.TryRead(token, Options, out var jws, out _));
        Assert.True(CompactJws.TryRead(tampered, Options, out var forged, out _));

        Assert.True(jws.VerifySignature(key));
        Assert.True(jws.VerifySignature(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(P256))));
        Assert.False(forged.VerifySignature(key));
        Assert.False(jws.VerifySignature(new ECDsaSecurityKey(other)));
    }

    [Fact]
    public void VerifySignature_Es384OverAP256Key_IsRefusedThoughTheMathWouldVerify()
    {
        // A P-256 signature over a SHA-384 digest: what "ES384 with a P-256 key" looks like on the wire.
        var token = SignSegments(B64("""{"alg":"ES384","kid":"k1"}"""), B64(Payload), P256, HashAlgorithmName.SHA384);
        Assert.True(CompactJws.TryRead(token, Options, out var jws, out _));

        Assert.False(jws.VerifySignature(new ECDsaSecurityKey(P256)));
        Assert.True(P256.VerifyData(Encoding.ASCII.GetBytes(jws.SigningInput.ToString()), Base64UrlEncoder.DecodeBytes(jws.EncodedSignature.ToString()), HashAlgorithmName.SHA384));
    }

    [Fact]
    public void TryRead_NullOptions_Throws() => Assert.Throws<ArgumentNullException>(() => CompactJws.TryRead(Sign(), null!, out _, out _));

    private static string Padded(int segment)
    {
        // A segment whose unpadded length is 2 or 3 mod 4, then with its '=' padding; signed as sent.
        var header = WithEncodedLength(Header, 2);
        var payload = WithEncodedLength(Payload, 3);
        var h = B64(header) + (segment == 0 ? "==" : string.Empty);
        var p = B64(payload) + (segment == 1 ? "=" : string.Empty);
        return SignSegments(h, p);
    }

    private static string NonCanonicalSegment(int segment)
    {
        var h = B64(WithEncodedLength(Header, 2));
        var p = B64(WithEncodedLength(Payload, 3));
        if (segment == 2)
        {
            var token = SignSegments(h, p);
            var cut = token.LastIndexOf('.') + 1;

            // ES256 signatures are 64 octets: 86 characters, the last carrying 4 unused bits.
            return token[..cut] + NonCanonical(token[cut..]);
        }

        return SignSegments(segment == 0 ? NonCanonical(h) : h, segment == 1 ? NonCanonical(p) : p);
    }

    private static string LengthOneModFour()
    {
        var p = B64(WithEncodedLength(Payload, 0));
        return SignSegments(B64(Header), p + "A");
    }

    private static string StandardAlphabet()
    {
        // Find a payload whose base64 needs '+' or '/', then send it in the standard alphabet.
        for (var n = 0; ; n++)
        {
            var payload = Payload.Insert(1, $"\"p\":\"{new string('~', n)}\",");
            var standard = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload)).TrimEnd('=');
            if (standard.Contains('+', StringComparison.Ordinal) || standard.Contains('/', StringComparison.Ordinal))
            {
                return SignSegments(B64(Header), standard);
            }
        }
    }

    private static string InvalidUtf8Payload()
    {
        var bytes = Encoding.UTF8.GetBytes(Payload).ToList();
        bytes.InsertRange(1, Encoding.UTF8.GetBytes("\"x\":\"").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes("\",")));
        return SignSegments(B64(Header), B64([.. bytes]));
    }

    private static string ManyMembers(int count, int duplicateAt)
    {
        var json = new StringBuilder("{");
        for (var i = 0; i < count; i++)
        {
            json.Append($"\"c{i}\":{i},");
        }

        json.Append($"\"c{duplicateAt}\":0}}");
        return json.ToString();
    }
}
