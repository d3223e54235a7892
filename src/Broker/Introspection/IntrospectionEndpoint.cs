using System.Text.Json;
using Broker.Admin;
using Broker.Errors;
using Broker.Grants;
using Broker.Hosting;
using Broker.OAuth;
using Broker.Policy;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Introspection;

/// <summary>
/// <c>POST /oauth2/introspect</c> (RFC 7662). The caller authenticates with its own workload identity
/// (<c>Authorization: Bearer</c>, a JWT-SVID or OIDC token); a token is reported active only when its
/// signature verifies, it has not expired, its grant is active in the store, and it belongs to the
/// caller's tenant. The grant record, not the token, is the source of the answer.
/// </summary>
internal sealed class IntrospectionEndpoint(
    IPolicyProvider policyProvider,
    SubjectTokenValidator subjects,
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
        var caller = policy is null ? null : await AuthenticateAsync(context, policy, cancellationToken);
        if (caller is null)
        {
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

        IntrospectionResponse answer;
        try
        {
            answer = await IntrospectAsync(form["token"][0], caller, policy!, cancellationToken);
        }
        catch (GrantStoreUnavailableException)
        {
            await ErrorWriter.WriteAsync(context, ErrorCatalog.StoreUnavailable, cancellationToken: cancellationToken);
            return;
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, answer, BrokerJsonContext.Default.IntrospectionResponse, cancellationToken);
    }

    private async Task<IntrospectionResponse> IntrospectAsync(string? presented, TenantPolicy caller, PolicySet policy, CancellationToken cancellationToken)
    {
        var token = reader.TryRead(presented, subjectsOptions.Value.MaxTokenLength);
        var now = timeProvider.GetUtcNow();
        if (token is not { JwtId: { Length: > 0 } grantId, ExpirationTime: { } exp } || exp <= now.ToUnixTimeSeconds())
        {
            return IntrospectionResponse.Inactive;
        }

        var grant = await store.FindAsync(grantId, cancellationToken);
        if (grant is null || grant.Status != GrantStatus.Active || grant.ExpiresAt <= now || grant.Tenant != caller.Name || !policy.Tenants.ContainsKey(grant.Tenant))
        {
            return IntrospectionResponse.Inactive;
        }

        return new IntrospectionResponse
        {
            Active = true,
            Scope = string.Join(' ', grant.Capabilities),
            ClientId = grant.ClientId,
            TokenType = "Bearer",
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

    /// <summary>The caller's tenant, from its Bearer workload token; null when not authenticated.</summary>
    private async Task<TenantPolicy?> AuthenticateAsync(HttpContext context, PolicySet policy, CancellationToken cancellationToken)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header["Bearer ".Length..].Trim();
        if (token.Length is 0 || token.Length > subjectsOptions.Value.MaxTokenLength)
        {
            return null;
        }

        var result = await subjects.ValidateAsync(token, TokenHash.Of(token), policy, cancellationToken);
        return result is SubjectValidationResult.Valid { Identity: { Kind: not IdentityKind.Broker } identity }
            ? PolicyEvaluator.ResolveTenant(policy, identity).Tenant
            : null;
    }
}
