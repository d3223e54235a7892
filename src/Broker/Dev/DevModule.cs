using Broker.Keys;
using Broker.Hosting;
using Broker.Spiffe;
using Broker.Subjects;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Dev;

/// <summary>Endpoints that exist only under <c>--dev</c>, on loopback.</summary>
internal static class DevModule
{
    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<DevIdentityIssuer>();
        services.TryAddSingleton<IDevBundleSource>(sp => sp.GetRequiredService<DevIdentityIssuer>());
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // POST /dev/svid?spiffe_id=… — a JWT-SVID of the dev trust domain, as text/plain.
        endpoints.MapPost("/dev/svid", (string? spiffe_id, DevIdentityIssuer issuer) =>
        {
            var requested = spiffe_id ?? "spiffe://dev.localhost/agents/demo";
            if (!SpiffeId.TryParse(requested, out var id) || !id.IsMemberOf(DevIdentityIssuer.TrustDomain))
            {
                return Results.BadRequest("spiffe_id must be a SPIFFE ID in spiffe://dev.localhost\n");
            }

            return Results.Text(issuer.Issue(id) + "\n", "text/plain");
        }).AllowAnonymous();

        // POST /dev/verify — verifies a capability token (Authorization: Bearer …) against the published
        // keys, the way an MCP server would, and shows its claims.
        endpoints.MapPost("/dev/verify", async (HttpContext context, ISigningKeyProvider keys, IOptions<BrokerOptions> options) =>
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                return Results.BadRequest("send the token as 'Authorization: Bearer <token>'\n");
            }

            var result = await new JsonWebTokenHandler().ValidateTokenAsync(header["Bearer ".Length..].Trim(), new TokenValidationParameters
            {
                ValidIssuer = options.Value.Issuer,
                ValidateAudience = false,
                ValidTypes = ["at+jwt"],
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                IssuerSigningKeys = keys.Published.Select(k => (SecurityKey)new JsonWebKey { Kty = k.PublicJwk.Kty, Crv = k.PublicJwk.Crv, X = k.PublicJwk.X, Y = k.PublicJwk.Y, Kid = k.KeyId }),
            });
            if (!result.IsValid)
            {
                return Results.Text($"invalid: {result.Exception?.GetType().Name}\n", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
            }

            var token = (JsonWebToken)result.SecurityToken;
            return Results.Text($"valid: signed by {token.Kid}\n{Base64UrlEncoder.Decode(token.EncodedPayload)}\n", "text/plain");
        }).AllowAnonymous();
    }
}
