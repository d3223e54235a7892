using System.Text.Json.Serialization;

namespace Broker.Keys;

/// <summary>The JWK Set served at <c>/.well-known/jwks.json</c>: public members only.</summary>
internal sealed record JwksDocument([property: JsonPropertyName("keys")] IReadOnlyList<PublicJwk> Keys);

/// <summary>One public EC key (RFC 7517, RFC 7518 §6.2.1).</summary>
internal sealed record PublicJwk(
    [property: JsonPropertyName("kty")] string Kty,
    [property: JsonPropertyName("crv")] string Crv,
    [property: JsonPropertyName("x")] string X,
    [property: JsonPropertyName("y")] string Y,
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Alg);
