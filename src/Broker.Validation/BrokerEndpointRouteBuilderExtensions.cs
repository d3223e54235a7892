// Broker.Validation — resource servers honour broker tokens.

using Broker.Validation;
using Broker.Validation.Internal;
using Broker.Validation.ResourceMetadata;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the RFC 9728 metadata of a broker-protected resource and protects endpoints with broker tokens.</summary>
public static class BrokerEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves RFC 9728 protected resource metadata for the scheme's <see cref="BrokerTokenOptions.Resource"/> at
    /// <c>/.well-known/oauth-protected-resource</c> followed by the resource's path (RFC 9728 §3.1, e.g.
    /// <c>/.well-known/oauth-protected-resource/mcp</c>) and at <c>/.well-known/oauth-protected-resource</c> itself,
    /// where MCP clients look when the first is absent. Anonymous, cacheable.
    /// </summary>
    public static IEndpointConventionBuilder MapBrokerResourceMetadata(this IEndpointRouteBuilder endpoints, string authenticationScheme = BrokerTokenDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptionsMonitor<BrokerTokenOptions>>().Get(authenticationScheme);
        var resourcePath = Uri.TryCreate(options.Resource, UriKind.Absolute, out var resource) ? resource.AbsolutePath.TrimEnd('/') : "";

        var group = endpoints.MapGroup(BrokerTokenDefaults.ResourceMetadataPath);
        RequestDelegate handler = context => ProtectedResourceMetadataEndpoint.HandleAsync(context, authenticationScheme);
        // GET /.well-known/oauth-protected-resource — RFC 9728 §3 (the root well-known URI).
        group.MapGet("", handler).AllowAnonymous();
        if (resourcePath.Length > 0)
        {
            // GET /.well-known/oauth-protected-resource/<resource path> — RFC 9728 §3.1.
            group.MapGet(resourcePath, handler).AllowAnonymous();
        }

        return group;
    }

    /// <summary>
    /// Requires a valid broker token of <paramref name="authenticationScheme"/> on these endpoints: without one the
    /// request is answered 401 with <c>WWW-Authenticate: Bearer resource_metadata="…"</c> (and
    /// <c>error="invalid_token"</c> when a token was presented).
    /// </summary>
    public static TBuilder RequireBrokerToken<TBuilder>(this TBuilder builder, string authenticationScheme = BrokerTokenDefaults.AuthenticationScheme)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var policy = new AuthorizationPolicyBuilder(authenticationScheme).RequireAuthenticatedUser().Build();
        return builder.RequireAuthorization(policy);
    }

    /// <summary>
    /// Answers 403 with the RFC 6750 §3.1 / MCP step-up challenge: <c>error="insufficient_scope"</c>, every capability
    /// in <paramref name="requiredCapabilities"/> in <c>scope</c>, and <c>resource_metadata</c>. The challenge's scheme is
    /// the one the token came with: <c>DPoP</c> (with <c>algs</c>, RFC 9449 §7.1) for a DPoP-bound token, else <c>Bearer</c>.
    /// </summary>
    public static void WriteInsufficientScopeChallenge(this HttpContext context, IEnumerable<string> requiredCapabilities, string authenticationScheme = BrokerTokenDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requiredCapabilities);
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<BrokerTokenOptions>>().Get(authenticationScheme);
        var scope = string.Join(' ', requiredCapabilities.Distinct(StringComparer.Ordinal));
        const string Description = "The token lacks capabilities this operation needs.";
        var metadata = Challenges.ResourceMetadataUriOf(options);
        Challenges.Write(context.Response, StatusCodes.Status403Forbidden, BrokerTokenEvents.PresentedSchemeOf(context) == PresentedScheme.DPoP
            ? Challenges.DPoP(metadata, string.Join(' ', options.DPoP.Algorithms.Distinct(StringComparer.Ordinal)), "insufficient_scope", Description, scope.Length > 0 ? scope : null)
            : Challenges.Bearer(metadata, "insufficient_scope", Description, scope.Length > 0 ? scope : null));
    }
}
