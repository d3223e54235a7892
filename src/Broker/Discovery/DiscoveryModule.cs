using System.Text.Json;
using Broker.Exchange;
using Broker.Jose;
using Broker.Subjects;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace Broker.Discovery;

/// <summary>RFC 8414 metadata at <c>/.well-known/oauth-authorization-server</c>.</summary>
internal static class DiscoveryModule
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // GET /.well-known/oauth-authorization-server — RFC 8414 §3. Rendered once: it changes only with configuration.
        var body = new Lazy<byte[]>(() => Render(
            endpoints.ServiceProvider.GetRequiredService<IOptions<BrokerOptions>>().Value.Issuer!,
            endpoints.ServiceProvider.GetRequiredService<IOptions<SpiffeAgentOptions>>().Value.RequestClientCertificates,
            endpoints.ServiceProvider.GetRequiredService<IOptions<Grants.StatusListOptions>>().Value.Enabled,
            endpoints.ServiceProvider.GetRequiredService<DPoP.DPoPTokenProofs>().Algorithms));
        endpoints.MapGet("/.well-known/oauth-authorization-server", (HttpContext context, CancellationToken ct) =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers[HeaderNames.CacheControl] = "public, max-age=3600";
            return context.Response.Body.WriteAsync(body.Value, ct).AsTask();
        }).AllowAnonymous();
    }

    internal static byte[] Render(string issuer, bool mutualTls, bool statusList = true, IReadOnlyList<string>? dpopAlgorithms = null)
    {
        var baseUrl = issuer.TrimEnd('/');
        string[] jwtTypes = [.. SubjectTokenTypes.Jwt];
        string[] subjectTypes = mutualTls ? [.. jwtTypes, SubjectTokenTypes.X509Svid] : jwtTypes;
        var metadata = new AuthorizationServerMetadata
        {
            Issuer = issuer,
            TokenEndpoint = baseUrl + Exchange.TokenEndpoint.Path,
            JwksUri = $"{baseUrl}/.well-known/jwks.json",
            RevocationEndpoint = $"{baseUrl}/oauth2/revoke",
            IntrospectionEndpoint = $"{baseUrl}/oauth2/introspect",
            RevocationEventsEndpoint = baseUrl + RevocationFeed.RevocationFeedModule.Path,
            CatalogEndpoint = baseUrl + Catalog.CatalogModule.Path,
            StatusListEndpoint = statusList ? baseUrl + StatusList.StatusListUris.Path : null,
            // RFC 8414 §2; the MCP Workload Identity Federation extension requires jwt-bearer to be listed.
            GrantTypesSupported = [ExchangeParameters.TokenExchangeGrantType, ExchangeParameters.JwtBearerGrantType],
            TokenEndpointAuthMethodsSupported = ["none"],
            SubjectTokenTypesSupported = subjectTypes,
            ActorTokenTypesSupported = jwtTypes,
            RequestedTokenTypesSupported = [CapabilityTokenTypes.AccessToken, CapabilityTokenTypes.Jwt],
            TokenSigningAlgValuesSupported = [SecurityAlgorithms.EcdsaSha256],
            SubjectTokenSigningAlgValuesSupported = JoseAlgorithms.Allowed,
            TaskContextParametersSupported = [ExchangeParameters.TaskId, ExchangeParameters.Purpose, ExchangeParameters.ExpiresIn],
            TlsClientCertificateBoundAccessTokens = mutualTls,
            DPoPSigningAlgValuesSupported = dpopAlgorithms,
        };
        return JsonSerializer.SerializeToUtf8Bytes(metadata, DiscoveryJsonContext.Default.AuthorizationServerMetadata);
    }
}
