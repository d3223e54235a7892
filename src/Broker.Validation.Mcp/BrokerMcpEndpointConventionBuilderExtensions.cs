// Broker.Validation — resource servers honour broker tokens.

using Broker.Validation;
using Broker.Validation.Mcp;
using Broker.Validation.Mcp.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Protects the endpoints of <c>MapMcp</c> with broker tokens.</summary>
public static class BrokerMcpEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Requires a valid broker token (401 with <c>resource_metadata</c> otherwise) and, on each POST before the SDK:
    /// refuses with 400 an <c>Mcp-Method</c> or <c>Mcp-Name</c> header that disagrees with the JSON-RPC body; answers a
    /// <c>tools/call</c> the token does not cover with 403 <c>insufficient_scope</c> naming every capability the tool
    /// needs; and removes the token from the request, so neither the SDK nor a tool can pass it on.
    /// Needs <c>AddMcpServer().AddBrokerCapabilities()</c>.
    /// </summary>
    /// <param name="builder">The builder <c>MapMcp</c> returned.</param>
    /// <param name="authenticationScheme">The broker-token scheme; the same as <see cref="BrokerMcpOptions.AuthenticationScheme"/>.</param>
    public static TBuilder RequireBrokerCapabilities<TBuilder>(this TBuilder builder, string authenticationScheme = BrokerTokenDefaults.AuthenticationScheme)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint =>
        {
            if (endpoint.RequestDelegate is not { } inner)
            {
                return;
            }

            // Resolved on first use: conventions run before the container is asked for anything.
            McpRequestPreflight? preflight = null;
            endpoint.RequestDelegate = context =>
            {
                preflight ??= context.RequestServices.GetService<McpRequestPreflight>()
                    ?? throw new InvalidOperationException("Call AddMcpServer().AddBrokerCapabilities() to use RequireBrokerCapabilities().");
                return preflight.InvokeAsync(context, inner);
            };
        });

        return builder.RequireBrokerToken(authenticationScheme);
    }
}
