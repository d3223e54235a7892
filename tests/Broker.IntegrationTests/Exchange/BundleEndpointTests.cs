using System.Net;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.IntegrationTests.Exchange;

/// <summary>A trust domain whose bundle comes from a SPIFFE bundle endpoint that later stops answering.</summary>
public sealed class BundleEndpointTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private WebApplication _endpoint = null!;
    private BrokerTestHost _host = null!;
    private TestKey _key = null!;
    private volatile bool _serving = true;
    private int _fetches;

    public async ValueTask InitializeAsync()
    {
        _key = TestKey.CreateEs256();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _endpoint = builder.Build();
        _endpoint.MapGet("/bundle", () =>
        {
            Interlocked.Increment(ref _fetches);
            if (!_serving)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            var jwk = _key.PublicJwk;
            return Results.Text(JsonSerializer.Serialize(new
            {
                keys = new[] { new { kty = "EC", crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = jwk.Kid, use = "jwt-svid" } },
                spiffe_refresh_hint = 1,
            }), "application/json");
        });
        await _endpoint.StartAsync();
        var url = _endpoint.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        _directory.Write("policy/acme.yaml", $$"""
            tenant: acme
            trust:
              spiffe:
                - trust_domain: acme.test
                  bundle_endpoint: {{url}}/bundle
            capabilities:
              - name: invoices.read
                resource: {{ExchangeFixture.InvoicesResource}}
            rules:
              - subjects: ["spiffe://acme.test/agents/*"]
                capabilities: [invoices.read]
                permissions: [execute]
            """);
        _host = await BrokerTestHost.StartAsync(Path.Combine(_directory.Path, "policy"));
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _endpoint.StopAsync();
        await _endpoint.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Bundles)> ReadyAsync()
    {
        using var response = await _host.Client.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("checks").GetProperty("bundles").GetString()!);
    }

    [Fact]
    public async Task BundleEndpoint_KeysAreUsed_AndReadinessReportsAStaleBundle()
    {
        var svid = _key.Sign(new Dictionary<string, object>
        {
            ["sub"] = "spiffe://acme.test/agents/reader",
            ["aud"] = BrokerTestHost.Issuer,
            ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
        });
        var exchange = await ExchangeAsync(svid);
        Assert.Equal(HttpStatusCode.OK, exchange);
        Assert.Equal((HttpStatusCode.OK, "ok"), await ReadyAsync());

        // The endpoint stops answering: the last good bundle is kept (exchanges go on), but after three
        // refresh intervals without an answer the replica says it is not ready.
        _serving = false;
        await Eventually.HoldsAsync(async () => await ReadyAsync() == (HttpStatusCode.ServiceUnavailable, "stale"), TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(svid));

        _serving = true;
        await Eventually.HoldsAsync(async () => await ReadyAsync() == (HttpStatusCode.OK, "ok"), TimeSpan.FromSeconds(30));
        Assert.True(Volatile.Read(ref _fetches) >= 3, "the endpoint was polled at its refresh hint");
    }

    private async Task<HttpStatusCode> ExchangeAsync(string svid)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(svid));
        using var response = await _host.Client.PostAsync("/oauth2/token", content);
        return response.StatusCode;
    }
}
