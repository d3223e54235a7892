using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Broker.Jose.DPoP;
using Broker.Testing.DPoP;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// The ways a DPoP-bound token (RFC 9449) can be presented wrongly at an MCP server, made alike for the C# and the
/// TypeScript server so both can be shown to answer the same: the token (signed with the broker's key), the
/// <c>Authorization</c> header and the <c>DPoP</c> header values of one request.
/// </summary>
public static class DPoPCases
{
    public const string InvalidProof = "The DPoP proof is not valid.";

    /// <summary>Scenario, challenged scheme, error, error_description.</summary>
    public static TheoryData<string, string, string, string> Failures => new()
    {
        { "wrong htm", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "wrong htu (another path)", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "a proof for another server", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "htu with another port", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "stale iat", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "future iat", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "replayed jti", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "private key in jwk", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "HS256", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "alg none", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "typ JWT", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "signed by a key other than its jwk", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "missing ath", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "wrong ath", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "no jti", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "no proof", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "two proofs", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "not a JWT", "DPoP", "invalid_dpop_proof", InvalidProof },
        { "a token stolen and used with another key", "DPoP", "invalid_token", "The DPoP proof is not signed with the key the token is bound to." },
        { "downgrade to Bearer", "Bearer", "invalid_token", "The token is DPoP-bound: present it with the DPoP scheme and a proof." },
        { "downgrade to Bearer without a proof", "Bearer", "invalid_token", "The token is DPoP-bound: present it with the DPoP scheme and a proof." },
        { "a bearer token with the DPoP scheme", "DPoP", "invalid_token", "The token is not DPoP-bound: present it with the Bearer scheme." },
    };

    /// <summary>
    /// One request's credentials for <paramref name="scenario"/> at <paramref name="endpoint"/> (POSTed). For
    /// "replayed jti" the same credentials are to be sent twice: the first is accepted.
    /// </summary>
    public static Attempt Make(string scenario, TestBroker broker, Uri endpoint)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var builder = new DPoPProofBuilder(key);
        var token = Bind(broker, builder.Thumbprint);
        var now = DateTimeOffset.UtcNow;
        string Handmade(JsonObject header, JsonObject claims, object? signer = null) => DPoPTestProofs.Sign(header, claims, signer ?? key);
        JsonObject Claims() => DPoPTestProofs.Claims("POST", endpoint.AbsoluteUri, now, token);
        JsonObject Header() => DPoPTestProofs.Header(jwk: DPoPTestProofs.EcJwk(key));

        return scenario switch
        {
            "valid" => Attempt.DPoP(token, builder.CreateProof("POST", endpoint, token)),
            "wrong htm" => Attempt.DPoP(token, builder.CreateProof("GET", endpoint, token)),
            "wrong htu (another path)" => Attempt.DPoP(token, builder.CreateProof("POST", new Uri(endpoint, "/other"), token)),
            "a proof for another server" => Attempt.DPoP(token, builder.CreateProof("POST", new Uri("https://mcp.other.example/mcp"), token)),
            "htu with another port" => Attempt.DPoP(token, builder.CreateProof("POST", new UriBuilder(endpoint) { Port = endpoint.Port == 1 ? 2 : 1 }.Uri, token)),
            "stale iat" => Attempt.DPoP(token, new DPoPProofBuilder(key, new FakeTimeProvider(now.AddMinutes(-5))).CreateProof("POST", endpoint, token)),
            "future iat" => Attempt.DPoP(token, new DPoPProofBuilder(key, new FakeTimeProvider(now.AddMinutes(5))).CreateProof("POST", endpoint, token)),
            "replayed jti" => Attempt.DPoP(token, builder.CreateProof("POST", endpoint, token)) with { SendTwice = true },
            "private key in jwk" => Attempt.DPoP(token, Handmade(DPoPTestProofs.Header(jwk: DPoPTestProofs.EcJwk(key, includePrivate: true)), Claims())),
            "HS256" => Attempt.DPoP(token, Handmade(Header().With("alg", "HS256"), Claims(), RandomNumberGenerator.GetBytes(32))),
            "alg none" => Attempt.DPoP(token, Handmade(Header().With("alg", "none"), Claims())),
            "typ JWT" => Attempt.DPoP(token, Handmade(Header().With("typ", "JWT"), Claims())),
            "signed by a key other than its jwk" => Attempt.DPoP(token, Handmade(Header(), Claims(), DPoPTestProofs.P256Other)),
            "missing ath" => Attempt.DPoP(token, builder.CreateProof("POST", endpoint)),
            "wrong ath" => Attempt.DPoP(token, builder.CreateProof("POST", endpoint, Bind(broker, builder.Thumbprint))),
            "no jti" => Attempt.DPoP(token, Handmade(Header(), Claims().Without("jti"))),
            "no proof" => new Attempt("DPoP " + token, [], token),
            "two proofs" => new Attempt("DPoP " + token, [builder.CreateProof("POST", endpoint, token), builder.CreateProof("POST", endpoint, token)], token),
            "not a JWT" => Attempt.DPoP(token, "not-a-jwt"),
            "a token stolen and used with another key" => StolenAndUsedWithAnotherKey(token, endpoint),
            "downgrade to Bearer" => new Attempt("Bearer " + token, [builder.CreateProof("POST", endpoint, token)], token),
            "downgrade to Bearer without a proof" => new Attempt("Bearer " + token, [], token),
            "a bearer token with the DPoP scheme" => BearerTokenWithTheDPoPScheme(broker, endpoint),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
        };
    }

    /// <summary>A token signed with the broker's key and bound (<c>cnf.jkt</c>) to <paramref name="thumbprint"/>.</summary>
    public static string Bind(TestBroker broker, string thumbprint, Action<Dictionary<string, object>>? claims = null) =>
        broker.Sign(c =>
        {
            c["cnf"] = new Dictionary<string, string> { ["jkt"] = thumbprint };
            claims?.Invoke(c);
        });

    private static Attempt StolenAndUsedWithAnotherKey(string token, Uri endpoint)
    {
        // The thief has the token but not its key: a proof of the thief's own key, otherwise perfect.
        using var thief = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return Attempt.DPoP(token, new DPoPProofBuilder(thief).CreateProof("POST", endpoint, token));
    }

    private static Attempt BearerTokenWithTheDPoPScheme(TestBroker broker, Uri endpoint)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = broker.Sign();
        return Attempt.DPoP(token, new DPoPProofBuilder(key).CreateProof("POST", endpoint, token));
    }

    /// <summary>The <c>Authorization</c> header, the <c>DPoP</c> header values, and the token they carry.</summary>
    public sealed record Attempt(string Authorization, string[] Proofs, string Token)
    {
        public bool SendTwice { get; init; }

        public static Attempt DPoP(string token, string proof) => new("DPoP " + token, [proof], token);

        public Dictionary<string, string[]> Headers()
        {
            var headers = new Dictionary<string, string[]> { ["Authorization"] = [Authorization] };
            if (Proofs.Length > 0)
            {
                headers["DPoP"] = Proofs;
            }

            return headers;
        }
    }
}
