using System.Security.Cryptography;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Jose.DPoP;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.IntegrationTests.DPoP;

/// <summary>Token requests with DPoP proofs, and what the answers say about them.</summary>
internal static class DPoPExchange
{
    /// <summary>The token endpoint as the broker's metadata names it: the issuer's URL, not the loopback address the tests connect to.</summary>
    public static readonly Uri TokenEndpoint = new(BrokerTestHost.Issuer + "/oauth2/token");

    /// <summary>A fresh ES256 key and a proof builder on the real clock.</summary>
    public static DPoPProofBuilder NewKey() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>A proof for the token endpoint.</summary>
    public static string Proof(this DPoPProofBuilder key, string? nonce = null) => key.CreateProof("POST", TokenEndpoint, nonce: nonce);

    /// <summary>Posts <paramref name="form"/> to the token endpoint with one <c>DPoP</c> header per proof given.</summary>
    public static async Task<DPoPResponse> PostAsync(HttpClient client, IEnumerable<KeyValuePair<string, string>> form, params string[] proofs)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/token") { Content = new FormUrlEncodedContent(form) };
        foreach (var proof in proofs)
        {
            request.Headers.TryAddWithoutValidation(DPoPConstants.HeaderName, proof);
        }

        using var response = await client.SendAsync(request);
        var nonce = response.Headers.TryGetValues(DPoPConstants.NonceHeaderName, out var values) ? values.Single() : null;
        return new DPoPResponse(await ExchangeResponse.ReadAsync(response), nonce);
    }

    /// <summary>The token's <c>cnf</c>, as JSON text.</summary>
    public static string Confirmation(string accessToken) => JsonSerializer.Serialize(new JsonWebToken(accessToken).GetPayloadValue<JsonElement>("cnf"));

    /// <summary>The <c>cnf</c> of a token bound to <paramref name="key"/>.</summary>
    public static string BoundTo(DPoPProofBuilder key) => $$"""{"jkt":"{{key.Thumbprint}}"}""";
}

/// <summary>A token endpoint answer and its <c>DPoP-Nonce</c> header.</summary>
internal sealed record DPoPResponse(ExchangeResponse Answer, string? Nonce);
