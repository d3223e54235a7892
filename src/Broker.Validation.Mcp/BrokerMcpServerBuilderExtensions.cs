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

        // The catalog client is always there (tools/list asks it whether to look callers up); it does nothing until
        // PublishToBrokerCatalog configures it.
        services.AddOptions<BrokerMcpCatalogOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(BrokerCatalogClient.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        services.TryAddSingleton<BrokerCatalogClient>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<McpServerOptions>, BrokerMcpFilterSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<McpServerOptions>, BrokerMcpToolValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<BrokerTokenOptions>, BrokerMcpScopesSetup>());
        services.AddOptions<McpServerOptions>().ValidateOnStart();
        return builder;
    }

    /// <summary>
    /// Connects the server to the broker's capability catalog (docs/catalog.md) with its own workload credential
    /// (<see cref="BrokerMcpCatalogOptions.Credential"/>): publishes its tools at start, each under every capability it
    /// requires, on the broker-token scheme's <c>Resource</c>; and, with
    /// <see cref="BrokerMcpCatalogOptions.ListDiscoverableTools"/>, lists <c>tools/list</c> by what each caller may
    /// discover. Call after <see cref="AddBrokerCapabilities"/>.
    /// </summary>
    public static IMcpServerBuilder PublishToBrokerCatalog(this IMcpServerBuilder builder, Action<BrokerMcpCatalogOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<BrokerMcpCatalogOptions>().Configure(configure)
            .Validate(o => o.Credential is not null, "BrokerMcpCatalogOptions.Credential is required: the server's own workload credential.")
            .Validate(o => o.LookupCacheDuration > TimeSpan.Zero && o.LookupCacheDuration <= TimeSpan.FromMinutes(10), "BrokerMcpCatalogOptions.LookupCacheDuration must be more than 0 and at most 10 minutes.")
            .Validate(o => o.MaxCachedLookups is >= 1 and <= 1_000_000, "BrokerMcpCatalogOptions.MaxCachedLookups must be 1 to 1,000,000.")
            .Validate(o => o.Timeout > TimeSpan.Zero && o.MaxRetryDelay > TimeSpan.Zero, "BrokerMcpCatalogOptions.Timeout and MaxRetryDelay must be positive.")
            .ValidateOnStart();
        if (!builder.Services.Any(d => d.ServiceType == typeof(BrokerCatalogPublisher)))
        {
            builder.Services.AddSingleton<BrokerCatalogPublisher>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<BrokerCatalogPublisher>());
        }

        return builder;
    }
}
