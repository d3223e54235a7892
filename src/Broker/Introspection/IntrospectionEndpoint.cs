using System.Text.Json;
using Broker.Authentication;
using Broker.Contracts.Admin;
using Broker.Errors;
using Broker.Grants;
using Broker.OAuth;
using Broker.Policy;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Introspection;

/// <summary>
/// <c>POST /oauth2/introspect</c> (RFC 7662 §2.1). The caller authenticates with its own workload identity
/// (the Workload scheme: <c>Authorization: Bearer</c>, a JWT-SVID or OIDC token) and must belong to a tenant
/// (<see cref="WorkloadPolicies.TenantMember"/>, checked by the route); a token is reported active only when
/// its signature verifies, it has not expired, its grant is active in the store, and it belongs to the
/// caller's tenant. The grant record, not the token, is the source of the answer.
/// </summary>
internal sealed class IntrospectionEndpoint(
    IPolicyProvider policyProvider,
    CapabilityTokenReader reader,
    IGrantStore store,
    TimeProvider timeProvider,
    IOptions<BrokerOptions> broker,
    IOptions<SubjectsOptions> subjectsOptions)
{
    public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        var policy = policyProvider.Current;
        if (policy is null || WorkloadPrincipal.From(context.User)?.Tenant is not { } caller)
        {
            // The route's policy admits only workloads of a tenant; this is the fail-closed backstop.
            await ErrorWriter.WriteAsync(context, ErrorCatalog.IntrospectionUnauthenticated, cancellationToken: cancellationToken);
            return;
        }

        var (form, formError) = await OAuthFormReader.ReadAsync(context, OAuthFormLimits.SingleToken, cancellationToken);
        if (form is null)
        {
            await ErrorWriter.WriteAsync(context, formError!, cancellationToken: cancellationToken);
            return;
        }

        if (form["token"].Count != 1)
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.IntrospectionMissingToken, cancellationToken: cancellationToken);
            return;
        }

        // A store outage surfaces as GrantStoreUnavailableException: 503 from the shared exception handler.
        var answer = await IntrospectAsync(form["token"][0], caller, policy, cancellationToken);
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, answer, IntrospectionJsonContext.Default.IntrospectionResponse, cancellationToken);
    }

    private async Task<IntrospectionResponse> IntrospectAsync(string? presented, string callerTenant, PolicySet policy, CancellationToken cancellationToken)
    {
        var token = reader.TryRead(presented, subjectsOptions.Value.MaxTokenLength);
        var now = timeProvider.GetUtcNow();
        if (token is not { JwtId: { Length: > 0 } grantId, ExpirationTime: { } exp } || exp <= now.ToUnixTimeSeconds())
        {
            return IntrospectionResponse.Inactive;
        }

        var grant = await store.FindAsync(grantId, cancellationToken);
        if (grant is null || grant.Status != GrantStatus.Active || grant.ExpiresAt <= now || grant.Tenant != callerTenant || !policy.Tenants.ContainsKey(grant.Tenant))
        {
            return IntrospectionResponse.Inactive;
        }

        return new IntrospectionResponse
        {
            Active = true,
            Scope = string.Join(' ', grant.Capabilities),
            ClientId = grant.ClientId,
            // RFC 7662 §2.2 token_type: DPoP for a token bound to a DPoP key (RFC 9449 §6.2).
            TokenType = grant.Binding?.JwkThumbprint is null ? "Bearer" : Broker.Jose.DPoP.DPoPConstants.TokenType,
            Exp = grant.ExpiresAt.ToUnixTimeSeconds(),
            Iat = grant.IssuedAt.ToUnixTimeSeconds(),
            Nbf = grant.IssuedAt.ToUnixTimeSeconds(),
            Sub = grant.Subject,
            Aud = grant.Audience,
            Iss = broker.Value.Issuer,
            Jti = grant.Id,
            Tenant = grant.Tenant,
            TaskId = grant.TaskId,
            Purpose = grant.Purpose,
            ActorChain = grant.ActorChain.Count > 0 ? grant.ActorChain : null,
            Cnf = grant.Binding is { } b ? new GrantBindingView(b.JwkThumbprint, b.X509Thumbprint) : null,
        };
    }
}
