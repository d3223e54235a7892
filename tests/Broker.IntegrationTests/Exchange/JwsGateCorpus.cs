using System.Security.Cryptography;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// Structurally hostile JWTs, each a valid token of a trusted identity source with one defect, signed with that
/// source's real key over exactly the bytes sent: only the defect can get it refused. Every defect runs on both
/// identity paths (a JWT-SVID of a trusted trust domain, an OIDC token of a trusted issuer) and must be refused on
/// both with the same reason.
/// </summary>
public static class JwsGateCorpus
{
    public const string Spiffe = "spiffe";
    public const string Oidc = "oidc";

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string Json(string value) => JsonSerializer.Serialize(value);

    /// <summary>An identity path: a valid token of it, member by member, and the keys that sign it.</summary>
    /// <param name="Name">spiffe or oidc.</param>
    /// <param name="Valid">A valid token; <c>actor</c> asks for one an actor would present.</param>
    /// <param name="Key">The key valid tokens are signed with.</param>
    /// <param name="P256Key">A trusted P-256 key of the same source, for algorithm/key mismatches.</param>
    public sealed record IdentityPath(string Name, Func<ExchangeFixture, bool, HostileJwt> Valid, Func<ExchangeFixture, TestKey> Key, Func<ExchangeFixture, TestKey> P256Key);

    /// <summary>One defect and the audited reason it must be refused with.</summary>
    public sealed record Defect(Action<HostileJwt, ExchangeFixture, IdentityPath> Apply, string Reason);

    public static readonly IReadOnlyDictionary<string, IdentityPath> Paths = new Dictionary<string, IdentityPath>
    {
        [Spiffe] = new(Spiffe, SpiffeToken, f => f.Acme.ActiveKey, f => f.Acme.ActiveKey),
        [Oidc] = new(Oidc, OidcToken, f => f.Oidc.Keys[0], f => f.Oidc.Keys[1]),
    };

    /// <summary>Changes that keep a token valid: proof that the builder signs what the broker accepts.</summary>
    public static readonly IReadOnlyDictionary<string, Action<HostileJwt>> Harmless = new Dictionary<string, Action<HostileJwt>>
    {
        ["as built"] = _ => { },
        ["typ absent"] = t => t.RemoveHeader("typ"),
        ["typ jwt in lower case"] = t => t.SetHeader("typ", "\"jwt\""),
        ["typ application/JWT"] = t => t.SetHeader("typ", "\"application/JWT\""),
        ["typ JOSE"] = t => t.SetHeader("typ", "\"JOSE\""),
        ["aud a string"] = t => t.SetClaim("aud", Json(BrokerTestHost.Issuer)),
        ["fractional exp"] = t => t.SetClaim("exp", $"{Now + 300}.5"),
        ["escaped member names"] = t => t.Claims.Add(new("n\\u0061me", "\"x\"")),
    };

    public static readonly IReadOnlyDictionary<string, Defect> Defects = new Dictionary<string, Defect>
    {
        // :: The same member twice: "last wins" (RFC 7515 §5.2) must not let a second value ride in front.
        ["duplicate exp, expired first"] = new((t, _, _) => t.Claims.Insert(0, new("exp", $"{Now - 600}")), "subject.duplicate_member"),
        ["duplicate exp, expired last"] = new((t, _, _) => t.Claims.Add(new("exp", $"{Now - 600}")), "subject.duplicate_member"),
        ["duplicate iss, foreign first"] = new((t, _, _) => DuplicateIss(t, foreignFirst: true), "subject.duplicate_member"),
        ["duplicate iss, foreign last"] = new((t, _, _) => DuplicateIss(t, foreignFirst: false), "subject.duplicate_member"),
        ["duplicate aud, foreign first"] = new((t, _, _) => t.Claims.Insert(0, new("aud", "\"https://another.broker\"")), "subject.duplicate_member"),
        ["duplicate aud, foreign last"] = new((t, _, _) => t.Claims.Add(new("aud", "\"https://another.broker\"")), "subject.duplicate_member"),
        ["duplicate sub"] = new((t, _, _) => t.Claims.Add(new("sub", Json("spiffe://acme.test/platform/root"))), "subject.duplicate_member"),
        ["duplicate alg, none first"] = new((t, _, _) => t.Header.Insert(0, new("alg", "\"none\"")), "subject.duplicate_member"),
        ["duplicate alg, none last"] = new((t, _, _) => t.Header.Add(new("alg", "\"none\"")), "subject.duplicate_member"),
        ["duplicate kid, attacker first"] = new((t, _, _) => t.Header.Insert(0, new("kid", "\"attacker\"")), "subject.duplicate_member"),
        ["duplicate kid, attacker last"] = new((t, _, _) => t.Header.Add(new("kid", "\"attacker\"")), "subject.duplicate_member"),
        ["duplicate typ"] = new((t, _, _) => t.Header.Insert(0, new("typ", "\"dpop+jwt\"")), "subject.duplicate_member"),
        ["duplicate exp spelled with an escape"] = new((t, _, _) => t.Claims.Add(new("\\u0065xp", $"{Now - 600}")), "subject.duplicate_member"),
        ["duplicate member in a nested claim"] = new((t, _, _) => t.Claims.Add(new("ctx", """{"team":"billing","team":"platform"}""")), "subject.duplicate_member"),
        ["duplicate member in a header object"] = new((t, _, _) => t.Header.Add(new("jwk", """{"kty":"EC","kty":"RSA"}""")), "subject.duplicate_member"),

        // :: One JSON object, in UTF-8, and nothing after it.
        ["garbage after the claims"] = new((t, _, _) => t.ClaimsSuffix = "xyz", "subject.trailing_data"),
        ["a second object after the claims"] = new((t, _, _) => t.ClaimsSuffix = """{"sub":"spiffe://acme.test/platform/root"}""", "subject.trailing_data"),
        ["whitespace after the claims"] = new((t, _, _) => t.ClaimsSuffix = "\n", "subject.trailing_data"),
        ["garbage after the header"] = new((t, _, _) => t.HeaderSuffix = "xyz", "subject.trailing_data"),
        ["claims an array"] = new((t, _, _) => t.ClaimsBytes = b => [(byte)'[', .. b, (byte)']'], "subject.malformed_json"),
        ["header an array"] = new((t, _, _) => t.HeaderJson = j => "[" + j + "]", "subject.malformed_json"),
        ["claims with invalid UTF-8"] = new((t, _, _) => t.ClaimsBytes = b => [.. b[..1], .. "\"x\":\""u8, 0xC3, 0x28, .. "\","u8, .. b[1..]], "subject.malformed_json"),
        ["claims with a byte order mark"] = new((t, _, _) => t.ClaimsBytes = b => [0xEF, 0xBB, 0xBF, .. b], "subject.malformed_json"),
        ["claims with an escaped lone surrogate"] = new((t, _, _) => t.Claims.Add(new("note", "\"\\ud800\"")), "subject.malformed_json"),

        // :: Canonical, unpadded base64url, exactly three segments.
        ["padded header"] = new((t, _, _) => t.HeaderEncoding = HostileJwt.Segment.Padded, "subject.malformed_base64url"),
        ["padded claims"] = new((t, _, _) => t.ClaimsEncoding = HostileJwt.Segment.Padded, "subject.malformed_base64url"),
        ["padded signature"] = new((t, _, _) => t.SignatureEncoding = HostileJwt.Segment.Padded, "subject.malformed_base64url"),
        ["non-canonical header"] = new((t, _, _) => t.HeaderEncoding = HostileJwt.Segment.NonCanonical, "subject.malformed_base64url"),
        ["non-canonical claims"] = new((t, _, _) => t.ClaimsEncoding = HostileJwt.Segment.NonCanonical, "subject.malformed_base64url"),
        ["non-canonical signature"] = new((t, _, _) => t.SignatureEncoding = HostileJwt.Segment.NonCanonical, "subject.malformed_base64url"),
        ["claims of length 1 mod 4"] = new((t, _, _) => t.ClaimsEncoding = HostileJwt.Segment.LengthOneModFour, "subject.malformed_base64url"),
        ["claims in the standard base64 alphabet"] = new((t, _, _) => t.ClaimsEncoding = HostileJwt.Segment.StandardAlphabet, "subject.malformed_base64url"),
        ["a newline inside the claims segment"] = new((t, _, _) => t.ClaimsEncoding = HostileJwt.Segment.WithNewline, "subject.malformed_base64url"),
        ["two segments"] = new((t, _, _) => t.Whole = s => s[..s.LastIndexOf('.')], "subject.malformed"),
        ["four segments"] = new((t, _, _) => t.Whole = s => s + ".AAAA", "subject.malformed"),
        ["five segments, as a JWE"] = new((t, _, _) => t.Whole = s => s + ".AAAA.AAAA", "subject.malformed"),
        ["empty signature"] = new((t, _, _) => t.Whole = s => s[..(s.LastIndexOf('.') + 1)], "subject.malformed"),

        // :: crit in any form: no extension is understood (RFC 7515 §4.1.11).
        ["crit a string"] = new((t, _, _) => t.SetHeader("crit", "\"exp\""), "subject.critical_header"),
        ["crit an array"] = new((t, _, _) => t.SetHeader("exp", $"{Now + 300}").SetHeader("crit", "[\"exp\"]"), "subject.critical_header"),
        ["crit an empty array"] = new((t, _, _) => t.SetHeader("crit", "[]"), "subject.critical_header"),

        // :: NumericDates are numbers, between 1970 and 9999.
        ["exp a string"] = new((t, _, _) => t.SetClaim("exp", $"\"{Now + 300}\""), "subject.invalid_numeric_date"),
        ["nbf a string"] = new((t, _, _) => t.SetClaim("nbf", $"\"{Now - 10}\""), "subject.invalid_numeric_date"),
        ["iat a string"] = new((t, _, _) => t.SetClaim("iat", $"\"{Now - 10}\""), "subject.invalid_numeric_date"),
        ["exp negative"] = new((t, _, _) => t.SetClaim("exp", "-1"), "subject.invalid_numeric_date"),
        ["exp beyond the year 9999"] = new((t, _, _) => t.SetClaim("exp", "253402300800"), "subject.invalid_numeric_date"),

        // :: alg: on the allow-list, and fitting the key.
        ["ES384 signature with a P-256 key"] = new((t, f, p) => MismatchedCurve(t, p.P256Key(f), "ES384", HashAlgorithmName.SHA384), "subject.key_algorithm_mismatch"),
        ["ES512 signature with a P-256 key"] = new((t, f, p) => MismatchedCurve(t, p.P256Key(f), "ES512", HashAlgorithmName.SHA512), "subject.key_algorithm_mismatch"),
        ["alg none, signed anyway"] = new((t, _, _) => t.SetHeader("alg", "\"none\""), "subject.unsupported_algorithm"),
        ["alg HS256"] = new((t, _, _) => t.SetHeader("alg", "\"HS256\""), "subject.unsupported_algorithm"),
        ["alg a number"] = new((t, _, _) => t.SetHeader("alg", "256"), "subject.unsupported_algorithm"),
        ["alg missing"] = new((t, _, _) => t.RemoveHeader("alg"), "subject.unsupported_algorithm"),

        // :: typ: another kind of token is not an identity token.
        ["typ dpop+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"dpop+jwt\""), "subject.invalid_type"),
        ["typ statuslist+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"statuslist+jwt\""), "subject.invalid_type"),
        ["typ oauth-id-jag+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"oauth-id-jag+jwt\""), "subject.invalid_type"),
        ["typ txntoken+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"txntoken+jwt\""), "subject.invalid_type"),
        ["typ secevent+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"secevent+jwt\""), "subject.invalid_type"),
        ["typ logout+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"logout+jwt\""), "subject.invalid_type"),
        ["typ at+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"at+jwt\""), "subject.invalid_type"),
        ["typ application/dpop+jwt"] = new((t, _, _) => t.SetHeader("typ", "\"application/dpop+jwt\""), "subject.invalid_type"),

        // :: Header parameters and claims of the wrong JSON type.
        ["kid a number"] = new((t, _, _) => t.SetHeader("kid", "7"), "subject.invalid_claim_type"),
        ["iss a number"] = new((t, _, _) => t.SetClaim("iss", "7"), "subject.invalid_claim_type"),
        ["sub a number"] = new((t, _, _) => t.SetClaim("sub", "7"), "subject.invalid_claim_type"),
        ["aud a number"] = new((t, _, _) => t.SetClaim("aud", "7"), "subject.invalid_claim_type"),
        ["aud an array with a number"] = new((t, _, _) => t.SetClaim("aud", $"[{Json(BrokerTestHost.Issuer)},7]"), "subject.invalid_claim_type"),
        ["kid missing"] = new((t, _, _) => t.RemoveHeader("kid"), "subject.missing_kid"),
    };

    /// <summary>Defects also run in the actor_token position.</summary>
    public static readonly string[] ActorDefects =
    [
        "duplicate exp, expired first", "duplicate alg, none first", "duplicate kid, attacker first", "garbage after the claims",
        "padded claims", "non-canonical signature", "crit an array", "exp a string", "ES384 signature with a P-256 key",
        "typ dpop+jwt", "alg none, signed anyway", "aud a number",
    ];

    /// <summary>Defects also run as the assertion of a jwt-bearer grant: enough to show it passes the same gate.</summary>
    public static readonly string[] AssertionDefects =
    [
        "duplicate exp, expired first", "duplicate aud, foreign last", "garbage after the claims", "non-canonical signature",
        "crit an array", "ES384 signature with a P-256 key", "alg none, signed anyway", "typ oauth-id-jag+jwt", "kid missing",
    ];

    public static TheoryData<string, string> RefusedCases() => Cross(Defects.Keys);

    public static TheoryData<string, string> AssertionCases() => Cross(AssertionDefects);

    public static TheoryData<string, string> HarmlessCases() => Cross(Harmless.Keys);

    public static TheoryData<string, string> ActorCases() => Cross(ActorDefects);

    public static TheoryData<string> PathNames() => [.. Paths.Keys];

    /// <summary>The token of <paramref name="path"/> with <paramref name="defect"/>, signed.</summary>
    public static string Build(ExchangeFixture fixture, string path, string defect, bool actor = false)
    {
        var p = Paths[path];
        var token = p.Valid(fixture, actor);
        Defects[defect].Apply(token, fixture, p);
        return token.Sign(p.Key(fixture));
    }

    public static string BuildHarmless(ExchangeFixture fixture, string path, string change, bool actor = false)
    {
        var p = Paths[path];
        var token = p.Valid(fixture, actor);
        Harmless[change](token);
        return token.Sign(p.Key(fixture));
    }

    private static TheoryData<string, string> Cross(IEnumerable<string> cases)
    {
        var data = new TheoryData<string, string>();
        foreach (var path in Paths.Keys)
        {
            foreach (var name in cases)
            {
                data.Add(path, name);
            }
        }

        return data;
    }

    private static HostileJwt SpiffeToken(ExchangeFixture f, bool actor)
    {
        var now = Now;
        var token = new HostileJwt();
        token.SetHeader("alg", "\"ES256\"").SetHeader("kid", Json(f.Acme.ActiveKey.KeyId)).SetHeader("typ", "\"JWT\"");
        token.SetClaim("sub", Json(actor ? "spiffe://acme.test/orchestrator/main" : "spiffe://acme.test/agents/reader"))
            .SetClaim("aud", $"[{Json(BrokerTestHost.Issuer)}]")
            .SetClaim("iat", $"{now}")
            .SetClaim("exp", $"{now + 300}")
            .SetClaim("jti", Json(Guid.NewGuid().ToString()));
        return token;
    }

    private static HostileJwt OidcToken(ExchangeFixture f, bool actor)
    {
        var name = actor ? "orchestrator" : "bot";
        var now = Now;
        var token = new HostileJwt();
        token.SetHeader("alg", "\"RS256\"").SetHeader("kid", Json(f.Oidc.Keys[0].KeyId)).SetHeader("typ", "\"JWT\"");
        token.SetClaim("iss", Json(f.Oidc.Issuer))
            .SetClaim("sub", Json($"system:serviceaccount:payments:{name}"))
            .SetClaim("aud", $"[{Json(BrokerTestHost.Issuer)}]")
            .SetClaim("iat", $"{now}")
            .SetClaim("nbf", $"{now}")
            .SetClaim("exp", $"{now + 300}")
            .SetClaim("kubernetes.io", $$$"""{"namespace":"payments","serviceaccount":{"name":"{{{name}}}","uid":"c4f7"}}""")
            .SetClaim("jti", Json(Guid.NewGuid().ToString()));
        return token;
    }

    private static void DuplicateIss(HostileJwt token, bool foreignFirst)
    {
        // The SPIFFE path has no iss of its own: give it one so there is something to repeat.
        if (!token.Claims.Any(c => c.Key == "iss"))
        {
            token.Claims.Insert(0, new("iss", Json("spiffe://acme.test")));
        }

        KeyValuePair<string, string> foreign = new("iss", Json("https://idp.evil.test"));
        if (foreignFirst)
        {
            token.Claims.Insert(0, foreign);
        }
        else
        {
            token.Claims.Add(foreign);
        }
    }

    private static void MismatchedCurve(HostileJwt token, TestKey p256, string alg, HashAlgorithmName hash)
    {
        // A P-256 signature over the digest alg names: verifiable math, wrong key for the algorithm.
        token.SetHeader("alg", Json(alg)).SetHeader("kid", Json(p256.KeyId));
        token.Key = p256;
        token.Hash = hash;
    }

    /// <summary>Every catalog entry by reason code, to check the description a caller gets.</summary>
    internal static readonly IReadOnlyDictionary<string, Errors.ErrorDescriptor> Catalog = typeof(Errors.ErrorCatalog)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(Errors.ErrorDescriptor))
        .Select(f => (Errors.ErrorDescriptor)f.GetValue(null)!)
        .ToDictionary(d => d.Reason);
}
