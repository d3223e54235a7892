using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Client.Tests.Infrastructure;

/// <summary>
/// A tiny Kestrel server on a free loopback port that records every request and answers with
/// <c>respond(context, requestNumber)</c> — an MCP server, or a broker that misbehaves on purpose.
/// </summary>
public sealed class StubServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;

    private StubServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static async Task<StubServer> StartAsync(Func<HttpContext, int, Task> respond, TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        StubServer? server = null;
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var number = Interlocked.Increment(ref server!._count);
            server.Requests.Enqueue(new RecordedRequest(
                number,
                context.Request.Method,
                context.Request.Path,
                context.Request.Headers.Authorization.ToString(),
                body,
                (clock ?? TimeProvider.System).GetUtcNow(),
                context.Request.Headers["DPoP"].ToArray()));
            await respond(context, number);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server = new StubServer(app, new Uri(address));
        return server;
    }

    /// <summary>An MCP server that answers 401 to the request numbers in <paramref name="unauthorized"/> and 200 otherwise.</summary>
    public static Task<StubServer> McpAsync(params int[] unauthorized) => StartAsync((context, number) =>
    {
        if (unauthorized.Contains(number))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Task.CompletedTask;
        }

        return context.Response.WriteAsync("""{"jsonrpc":"2.0","id":1,"result":{}}""");
    });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record RecordedRequest(int Number, string Method, string Path, string Authorization, string Body, DateTimeOffset ReceivedAt, string?[] Proofs);
