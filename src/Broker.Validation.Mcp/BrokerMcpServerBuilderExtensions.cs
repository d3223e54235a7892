// Broker.Validation — resource servers honour broker tokens.

using Broker.Validation;
using Broker.Validation.Mcp;
using Broker.Validation.Mcp.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Broker capabilities for the tools of an MCP server (C# MCP SDK).</summary>
public static class BrokerMcpServerBuilderExtensions
{
    /// <summary>
    /// Every tool needs the capabilities it declares (<see cref="RequiresCapabilityAttribute"/> or
    /// <see cref="BrokerMcpOptions.RequireCapability"/>); a tool that declares none stops the host at start.
    /// <c>tools/list</c> shows a caller only the tools its token covers; <c>tools/call</c> of any other tool is
    /// refused; each call writes one audit line. Pair with <c>MapMcp(…).RequireBrokerCapabilities()</c>, which
    /// answers uncovered calls with the HTTP 403 step-up challenge.
    /// </summary>
    public static IMcpServerBuilder AddBrokerCapabilities(this IMcpServerBuilder builder, Action<BrokerMcpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<BrokerMcpOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<ToolCapabilities>();
        services.TryAddSingleton<ToolCallAudit>();
        services.TryAddSingleton<McpRequestPreflight>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<McpServerOptions>, BrokerMcpFilterSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<McpServerOptions>, BrokerMcpToolValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<BrokerTokenOptions>, BrokerMcpScopesSetup>());
        services.AddOptions<McpServerOptions>().ValidateOnStart();
        return builder;
    }
}
