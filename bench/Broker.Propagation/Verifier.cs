using System.Collections.Concurrent;
using Broker.Testing.Bench;
using Broker.Validation;
using Broker.Validation.Revocation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Broker.Propagation;

/// <summary>
/// An MCP-server-like verifier: a minimal ASP.NET Core host on loopback with one endpoint protected by
/// Broker.Validation (<c>AddBrokerTokens</c>, offline ES256 validation against the broker's JWKS) and the revocation
/// feed (<c>AddBrokerRevocationFeed</c>) filling its <see cref="RevokedGrantSet"/>. Every request the library sends
/// to the broker (metadata, JWKS, feed) goes through a counting handler.
/// </summary>
internal sealed class Verifier : IAsyncDisposable
{
    // Broker.Validation's named clients (BrokerJwtBearerSetup.HttpClientName, RevocationFeedClient.HttpClientName).
    private const string MetadataClient = "Broker.Validation";
    private const string FeedClient = "Broker.Validation.RevocationFeed";

    private readonly WebApplication _app;
    private readonly BrokerCalls _calls;

    private Verifier(string name, WebApplication app, Uri address, BrokerCalls calls)
    {
        Name = name;
        _app = app;
        Address = address;
        _calls = calls;
        Revoked = app.Services.GetRequiredService<RevokedGrantSet>();
    }

    public string Name { get; }

    public Uri Address { get; }

    public RevokedGrantSet Revoked { get; }

    /// <summary>Requests this verifier has sent to the broker so far, by path.</summary>
    public IReadOnlyDictionary<string, int> BrokerRequests => _calls.Snapshot();

    public static async Task<Verifier> StartAsync(string name, string issuer, string tenant, string credential, LoopbackTls tls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

        // Every poll after a revocation logs "revoked grant ... was presented" at Warning under "Broker.Validation";
        // feed and metadata problems (other categories) still show.
        builder.Logging.AddFilter((category, level) => level >= (category == "Broker.Validation" ? LogLevel.Error : LogLevel.Warning));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddAuthentication(BrokerTokenDefaults.AuthenticationScheme).AddBrokerTokens(o =>
        {
            o.Broker = new Uri(issuer);
            o.Resource = BenchTrustDomain.Resource;
            o.Tenant = tenant;
            o.Revocation.MaxStaleness = TimeSpan.FromSeconds(45);
        });
        builder.Services.AddAuthorization();
        builder.Services.AddBrokerRevocationFeed(o =>
        {
            o.Credential = _ => ValueTask.FromResult(credential);

            // Every bench token is exchanged after the feed is ready, so there is no gap to cover.
            o.RefuseTokensIssuedBeforeGap = false;
        });

        // Same handlers as the library's (no redirects, no cookies), trusting the replicas' self-signed certificate,
        // and counting every request to the broker.
        var calls = new BrokerCalls();
        foreach (var client in new[] { MetadataClient, FeedClient })
        {
            builder.Services.AddHttpClient(client)
                .ConfigurePrimaryHttpMessageHandler(tls.CreateHandler)
                .AddHttpMessageHandler(() => new CountingHandler(calls));
        }

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/tool", () => "ok").RequireAuthorization();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Verifier(name, app, new Uri(address + "/"), calls);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class BrokerCalls
    {
        private readonly ConcurrentDictionary<string, int> _byPath = new(StringComparer.Ordinal);

        public void Add(string path) => _byPath.AddOrUpdate(path, 1, (_, n) => n + 1);

        public Dictionary<string, int> Snapshot() => new(_byPath, StringComparer.Ordinal);
    }

    private sealed class CountingHandler(BrokerCalls calls) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            calls.Add(request.RequestUri?.AbsolutePath ?? "?");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
