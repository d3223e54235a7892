// Broker.Spiffe — SPIFFE for .NET.

using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Testing.Federation;

/// <summary>
/// A SPIFFE bundle endpoint: Kestrel over HTTPS on loopback with the given server certificate (plain http without one).
/// Routes: /bundle (the current body), /redirect (302 to /bundle), /redirect-http (302 to http), /big (2 MiB), /error (500),
/// /stall (headers and the start of a body, then nothing until the client gives up).
/// </summary>
public sealed class BundleEndpointServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private BundleEndpointServer(WebApplication app) => _app = app;

    public string Body { get; set; } = """{"keys":[]}""";

    public int StatusCode { get; set; } = 200;

    public int Requests => Volatile.Read(ref _requests);

    public Uri BaseUrl { get; private set; } = null!;

    public Uri Url(string path) => new(BaseUrl, path);

    public static async Task<BundleEndpointServer> StartAsync(X509Certificate2? serverCertificate, X509Certificate2[]? intermediates = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            if (serverCertificate is null)
            {
                return;
            }

            l.UseHttps(https =>
            {
                https.ServerCertificate = serverCertificate;
                if (intermediates is { Length: > 0 })
                {
                    https.ServerCertificateChain = [.. intermediates];
                }
            });
        }));
        var app = builder.Build();
        var server = new BundleEndpointServer(app);
        app.Use(async (context, next) =>
        {
            Interlocked.Increment(ref server._requests);
            await next(context);
        });
        app.MapGet("/bundle", (HttpContext context) =>
        {
            context.Response.StatusCode = server.StatusCode;
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(server.Body);
        });
        app.MapGet("/redirect", () => Results.Redirect("/bundle"));
        app.MapGet("/redirect-http", (HttpContext c) => Results.Redirect("http://127.0.0.1:" + c.Connection.LocalPort + "/bundle"));
        app.MapGet("/stall", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 1024;
            await context.Response.WriteAsync("""{"keys":[""", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        app.MapGet("/big", () => Results.Text(new string(' ', 2 * 1024 * 1024) + """{"keys":[]}""", "application/json"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return server;
    }

    /// <summary>A Web PKI style root and a server certificate for localhost/127.0.0.1.</summary>
    public static (X509Certificate2 Root, X509Certificate2 Server) CreateWebPki()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootReq = new CertificateRequest("CN=Test Web Root", rootKey, HashAlgorithmName.SHA256);
        rootReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var root = rootReq.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = req.Create(root, now.AddMinutes(-1), now.AddHours(12), [1, 2, 3, 4]);
        return (root, cert.CopyWithPrivateKey(serverKey));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
