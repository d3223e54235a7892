using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Client;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// An MCP server built with the C# MCP SDK (Streamable HTTP, stateless) and protected by Broker.Validation in the
/// few lines an application would write, on real Kestrel on a loopback port.
/// </summary>
public sealed class TestMcpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestMcpServer(WebApplication app, Uri baseAddress, LogSink logs, X509Certificate2? serverCertificate)
    {
        _app = app;
        BaseAddress = baseAddress;
        Logs = logs;
        ServerCertificate = serverCertificate;
    }

    public Uri BaseAddress { get; }

    public Uri Endpoint => new(BaseAddress, "/mcp");

    public LogSink Logs { get; }

    public X509Certificate2? ServerCertificate { get; }

    public IServiceProvider Services => _app.Services;

    public ToolRuns ToolRuns => Services.GetRequiredService<ToolRuns>();

    public static Task<TestMcpServer> StartAsync(
        TestBroker broker,
        Action<BrokerTokenOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        X509Certificate2? serverCertificate = null,
        Action<IMcpServerBuilder>? mcp = null) =>
        StartAsync(broker.BaseAddress, configure, services, serverCertificate, mcp);

    public static async Task<TestMcpServer> StartAsync(
        Uri broker,
        Action<BrokerTokenOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        X509Certificate2? serverCertificate = null,
        Action<IMcpServerBuilder>? mcp = null)
    {
        var logs = new LogSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddProvider(logs);
        // Provider-specific, so it wins over the Logging section of an appsettings.json in the output directory.
        builder.Logging.AddFilter<LogSink>(null, LogLevel.Trace);
        if (serverCertificate is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            // mTLS for RFC 8705: a client certificate is asked for and any is accepted at the TLS layer; the token's
            // cnf decides whether it is the right one.
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = serverCertificate;
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.AllowAnyClientCertificate();
            })));
        }

        builder.Services.AddSingleton<ToolRuns>();
        services?.Invoke(builder.Services);

        // What an application writes:
        builder.Services.AddAuthentication().AddBrokerTokens(o =>
        {
            o.Broker = broker;
            o.Resource = TestBroker.Resource;
            o.Tenant = TestBroker.Tenant;
            o.AllowInsecureLoopbackBroker = true;
            o.MinimumKeyRefreshInterval = TimeSpan.FromSeconds(1);
            configure?.Invoke(o);
        });
        builder.Services.AddAuthorization();
        var server = builder.Services.AddMcpServer()
            .WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.Stateless)
            .AddBrokerCapabilities()
            .WithTools<TestTools>();
        mcp?.Invoke(server);

        var app = builder.Build();
        app.MapBrokerResourceMetadata();
        app.MapMcp("/mcp").RequireBrokerCapabilities();
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestMcpServer(app, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)), logs, serverCertificate);
    }

    /// <summary>A raw HTTP client for this server, sending <paramref name="token"/> as a bearer token when given.</summary>
    public HttpClient CreateHttpClient(string? token = null, X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler();
        if (ServerCertificate is { } pinned)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == pinned.GetCertHashString(),
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                LocalCertificateSelectionCallback = clientCertificate is null ? null : (_, _, _, _, _) => clientCertificate,
            };
        }

        var client = new HttpClient(handler) { BaseAddress = BaseAddress };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    /// <summary>The SDK's own MCP client over Streamable HTTP, with the token on every request.</summary>
    public async Task<McpClient> ConnectAsync(string token)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        });
        return await McpClient.CreateAsync(transport);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
