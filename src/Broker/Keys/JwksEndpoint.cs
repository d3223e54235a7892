using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace Broker.Keys;

/// <summary>
/// Serves the public keys. The body is rendered once per set of published keys (verifiers poll this endpoint, and it
/// must stay cheap), with a strong <c>ETag</c> so a verifier's conditional refresh costs a 304.
/// </summary>
/// <remarks>
/// <c>Cache-Control: max-age</c> is <see cref="KeysOptions.JwksMaxAge"/>. With a rotating ring it is kept well below the
/// time a new key is published before it signs (<see cref="KeysOptionsValidator"/>), so a verifier that honours the
/// header has the key before the first token it signs arrives; verifiers that refresh on an unknown <c>kid</c> never
/// depend on it.
/// </remarks>
internal sealed class JwksEndpoint(ISigningKeyProvider keys, IOptions<KeysOptions> options)
{
    private readonly string _cacheControl = $"public, max-age={(int)options.Value.JwksMaxAge.TotalSeconds}";
    private volatile Rendered? _rendered;

    public Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var rendered = Render();
        var response = context.Response;
        response.Headers[HeaderNames.CacheControl] = _cacheControl;
        response.Headers[HeaderNames.ETag] = rendered.ETag;

        // RFC 9110 §13.1.2: a verifier that has this exact set gets 304 and keeps it.
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(tag => tag.Trim() == rendered.ETag || tag.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = "application/jwk-set+json";
        return response.Body.WriteAsync(rendered.Body, cancellationToken).AsTask();
    }

    private Rendered Render()
    {
        var published = keys.Published;
        if (_rendered is { } last && ReferenceEquals(last.Keys, published))
        {
            return last;
        }

        var document = new JwksDocument([.. published.Select(k => new PublicJwk(
            k.PublicJwk.Kty, k.PublicJwk.Crv, k.PublicJwk.X, k.PublicJwk.Y, k.KeyId, k.PublicJwk.Use, k.PublicJwk.Alg))]);
        var body = JsonSerializer.SerializeToUtf8Bytes(document, KeysJsonContext.Default.JwksDocument);
        var etag = $"\"{Base64UrlEncoder.Encode(SHA256.HashData(body)[..16])}\"";
        return _rendered = new Rendered(published, body, etag);
    }

    private sealed record Rendered(IReadOnlyList<SigningKey> Keys, byte[] Body, string ETag);
}
