using Broker.Authentication;
using Broker.Spiffe;
using Broker.Subjects;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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

        // POST /dev/verify — verifies a capability token (Authorization: Bearer …) the way an MCP server would
        // (signature under a published key, issuer, typ at+jwt, lifetime) and shows its claims. Anonymous, dev
        // only; it reads the header and checks the token with the same code the broker uses elsewhere.
        endpoints.MapPost("/dev/verify", (HttpContext context, CapabilityTokenReader reader, TimeProvider timeProvider, IOptions<SubjectsOptions> subjects) =>
        {
            if (BearerCredential.Read(context.Request, subjects.Value.MaxTokenLength, out var presented) != BearerCredential.Status.Present)
            {
                return Results.BadRequest("send the token as 'Authorization: Bearer <token>'\n");
            }

            var token = reader.TryRead(presented, subjects.Value.MaxTokenLength);
            var invalid = token is null
                ? "not a capability token of this broker (signature, issuer or typ)"
                : TokenLifetime.Check(token, timeProvider.GetUtcNow(), subjects.Value.ClockSkew)?.Reason;
            if (invalid is not null)
            {
                return Results.Text($"invalid: {invalid}\n", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
            }

            return Results.Text($"valid: signed by {token!.KeyId}\n{System.Text.Encoding.UTF8.GetString(token.Payload.Span)}\n", "text/plain");
        }).AllowAnonymous();
    }
}
