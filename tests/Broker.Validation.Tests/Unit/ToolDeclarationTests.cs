using System.ComponentModel;
using Broker.Validation.Mcp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;

namespace Broker.Validation.Tests.Unit;

/// <summary>Deny by default: a tool that names no capability stops the host at start.</summary>
public sealed class ToolDeclarationTests
{
    [McpServerToolType]
    public sealed class UndeclaredTools
    {
        [McpServerTool(Name = "open_door"), Description("Names no capability.")]
        public static string OpenDoor() => "open";

        [McpServerTool(Name = "declared_in_options"), Description("Declared through options.")]
        public static string Declared() => "ok";
    }

    [Fact]
    public async Task Start_ToolWithoutCapability_FailsNamingIt()
    {
        // Arrange
        await using var app = Build(o => o.RequireCapability("declared_in_options", "files.read"));

        // Act
        // (An AggregateException when the SDK validates its options at start too.)
        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        Assert.True(error is OptionsValidationException || (error is AggregateException aggregate && aggregate.InnerExceptions.All(e => e is OptionsValidationException)), error.GetType().Name);

        // Assert
        Assert.Contains("open_door", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("declared_in_options", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_EveryToolDeclared_Starts()
    {
        // Arrange
        await using var app = Build(o => o.RequireCapability("declared_in_options", "files.read").RequireCapability("open_door", "doors.open"));

        // Act
        await app.StartAsync();

        // Assert
        await app.StopAsync();
    }

    [Fact]
    public void RequireCapability_NoneOrBlank_Throws()
    {
        var options = new BrokerMcpOptions();
        Assert.Throws<ArgumentException>(() => options.RequireCapability("t"));
        Assert.Throws<ArgumentException>(() => options.RequireCapability("t", " "));
        Assert.Throws<ArgumentException>(() => new RequiresCapabilityAttribute(""));
    }

    private static WebApplication Build(Action<BrokerMcpOptions> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddAuthentication().AddBrokerTokens(o =>
        {
            o.Broker = new Uri("https://broker.example.org");
            o.Resource = "https://mcp.example.org/mcp";
            o.Tenant = "payments";
        });
        builder.Services.AddAuthorization();
        builder.Services.AddMcpServer()
            .WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.Stateless)
            .AddBrokerCapabilities(configure)
            .WithTools<UndeclaredTools>();
        var app = builder.Build();
        app.MapMcp("/mcp").RequireBrokerCapabilities();
        return app;
    }
}
