using System.Net;
using System.Net.Http.Headers;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Validation.Tests;

/// <summary>The core without the MCP SDK: a minimal API protected by broker tokens.</summary>
[Collection(BrokerTests.Name)]
public sealed class PlainApiTests(BrokerFixture fixture)
{
    [Fact]
    public async Task MinimalApi_CallerFromDiAndStepUpChallenge()
    {
        // Arrange
        var broker = fixture.Broker;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddAuthentication().AddBrokerTokens(o =>
        {
            o.Broker = broker.BaseAddress;
            o.Resource = TestBroker.Resource;
            o.Tenant = TestBroker.Tenant;
            o.AllowInsecureLoopbackBroker = true;
        });
        builder.Services.AddAuthorization();
        await using var app = builder.Build();
        app.MapGet("/files", (BrokerCaller caller) => $"{caller.GrantId} {caller.Subject}").RequireBrokerToken();
        app.MapDelete("/files", (HttpContext context) =>
        {
            if (context.GetBrokerCaller()?.HasCapability("files.write") != true)
            {
                context.WriteInsufficientScopeChallenge(["files.write"]);
                return Task.CompletedTask;
            }

            return context.Response.WriteAsync("deleted");
        }).RequireBrokerToken();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) };
        var token = await broker.ExchangeAsync("files.read");

        // Act
        using var anonymous = await client.GetAsync("/files");
        using var get = new HttpRequestMessage(HttpMethod.Get, "/files") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        using var allowed = await client.SendAsync(get);
        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/files") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        using var forbidden = await client.SendAsync(delete);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal($"{new JsonWebToken(token).Id} spiffe://dev.localhost/agents/reader", await allowed.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(
            "Bearer resource_metadata=\"https://mcp.test/.well-known/oauth-protected-resource/mcp\", error=\"insufficient_scope\", error_description=\"The token lacks capabilities this operation needs.\", scope=\"files.write\"",
            Rpc.Challenge(forbidden));
        await app.StopAsync();
    }
}
