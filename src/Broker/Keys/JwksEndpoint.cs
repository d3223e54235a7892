using System.Text.Json;
using Broker.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Keys;

/// <summary>
/// Serves the public keys. The body is rendered once per key ring: verifiers poll this endpoint,
/// and it must stay cheap.
/// </summary>
internal sealed class JwksEndpoint(ISigningKeyProvider keys, IOptions<KeysOptions> options)
{
    private readonly Lazy<byte[]> _body = new(() => Render(keys));
    private readonly string _cacheControl = $"public, max-age={(int)options.Value.JwksMaxAge.TotalSeconds}";

    public Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.ContentType = "application/jwk-set+json";
        context.Response.Headers[HeaderNames.CacheControl] = _cacheControl;
        return context.Response.Body.WriteAsync(_body.Value, cancellationToken).AsTask();
    }

    private static byte[] Render(ISigningKeyProvider keys)
    {
        var document = new JwksDocument([.. keys.Published.Select(k => new PublicJwk(
            k.PublicJwk.Kty, k.PublicJwk.Crv, k.PublicJwk.X, k.PublicJwk.Y, k.KeyId, k.PublicJwk.Use, k.PublicJwk.Alg))]);
        return JsonSerializer.SerializeToUtf8Bytes(document, BrokerJsonContext.Default.JwksDocument);
    }
}
