using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Testing.Federation;
using Broker.Trust;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Broker.IntegrationTests.Trust;

/// <summary>
/// A trust domain whose bundle comes from a SPIFFE bundle endpoint on real Kestrel over TLS (https_web, a private
/// root the broker is told to trust), polled through Broker.Spiffe's federation client on the broker's clock.
/// </summary>
public sealed class BundleEndpointSequenceTests : IAsyncLifetime
{
    private const string TrustDomain = "acme.test";
    private static readonly TimeSpan Hint = TimeSpan.FromSeconds(60);
    private static readonly (X509Certificate2 Root, X509Certificate2 Server) WebPki = BundleEndpointServer.CreateWebPki();

    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly CapturingLoggerProvider _logs = new();
    private BundleEndpointServer _endpoint = null!;
    private BrokerTestHost? _host;

    private BrokerTestHost Host => _host!;

    public async ValueTask InitializeAsync() => _endpoint = await BundleEndpointServer.StartAsync(WebPki.Server);

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _endpoint.DisposeAsync();
        _directory.Dispose();
    }

    private async Task StartBrokerAsync(bool trustTheRoot = true, string path = "/bundle")
    {
        _directory.Write("policy/acme.yaml", $$"""
            tenant: acme
            trust:
              spiffe:
                - trust_domain: {{TrustDomain}}
                  bundle_endpoint: {{_endpoint.Url(path)}}
            capabilities:
              - name: invoices.read
                resource: {{ExchangeFixture.InvoicesResource}}
            rules:
              - subjects: ["spiffe://{{TrustDomain}}/agents/*"]
                capabilities: [invoices.read]
                permissions: [execute]
            """);
        _host = await BrokerTestHost.StartAsync(Path.Combine(_directory.Path, "policy"), services: s =>
        {
            s.AddSingleton<TimeProvider>(_clock);
            s.AddSingleton<ILoggerProvider>(_logs);
            if (trustTheRoot)
            {
                // The endpoint's certificate chains to the test root, as a real one chains to the Web PKI; the host name
                // (127.0.0.1) is still checked.
                s.Configure<BundleFetchOptions>(o => o.ConfigureHandler = h => h.SslOptions.CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { WebPki.Root },
                    RevocationMode = X509RevocationMode.NoCheck,
                });
            }
        });
    }

    private static string Bundle(TestKey key, long sequence)
    {
        var jwk = key.PublicJwk;
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["keys"] = new[] { new { kty = "EC", crv = jwk.Crv, x = jwk.X, y = jwk.Y, kid = jwk.Kid, use = "jwt-svid" } },
            ["spiffe_refresh_hint"] = (long)Hint.TotalSeconds,
            ["spiffe_sequence"] = sequence,
        });
    }

    private string Svid(TestKey key) => key.Sign(new Dictionary<string, object>
    {
        ["sub"] = $"spiffe://{TrustDomain}/agents/reader",
        ["aud"] = BrokerTestHost.Issuer,
        ["exp"] = _clock.GetUtcNow().AddHours(1).ToUnixTimeSeconds(),
    });

    private async Task<HttpStatusCode> ExchangeAsync(string svid)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(svid));
        using var response = await Host.Client.PostAsync("/oauth2/token", content);
        return response.StatusCode;
    }

    private async Task<(HttpStatusCode Status, string Bundles, string[] Warnings)> ReadyAsync()
    {
        using var response = await Host.Client.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var warnings = body.RootElement.TryGetProperty("warnings", out var list) ? list.EnumerateArray().Select(w => w.GetString()!).ToArray() : [];
        return (response.StatusCode, body.RootElement.GetProperty("checks").GetProperty("bundles").GetString()!, warnings);
    }

    /// <summary>
    /// Moves the broker's clock one refresh interval at a time until readiness says <paramref name="finding"/>. A second
    /// step covers a poll whose timer was armed just after the first; each step is one poll of the endpoint.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Bundles, string[] Warnings)> AdvanceUntilAsync(string finding, int maxSteps)
    {
        for (var step = 0; step < maxSteps; step++)
        {
            var before = _endpoint.Requests;
            _clock.Advance(Hint);
            await Eventually.HoldsAsync(() => _endpoint.Requests > before, TimeSpan.FromSeconds(30));
            for (var i = 0; i < 40; i++)
            {
                var ready = await ReadyAsync();
                if (ready.Bundles == finding)
                {
                    return ready;
                }

                await Task.Delay(25);
            }
        }

        Assert.Fail($"readiness did not say '{finding}' within {maxSteps} refresh intervals; it says '{(await ReadyAsync()).Bundles}'");
        return default;
    }

    [Fact]
    public async Task SequenceGoesBackwards_TheBundleInForceStays_LoggedAndReported_UntilANewerOneArrives()
    {
        // Arrange: the endpoint serves sequence 5, whose key signs the workload's SVIDs.
        var current = TestKey.CreateEs256();
        _endpoint.Body = Bundle(current, 5);
        await StartBrokerAsync();
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(Svid(current)));
        Assert.Equal((HttpStatusCode.OK, "ok"), ((await ReadyAsync()).Status, (await ReadyAsync()).Bundles));

        // Act: the endpoint goes back to an older bundle (sequence 4) with another key: a rollback, or an old bundle
        // replayed by whoever sits in front of the endpoint.
        var rolledBack = TestKey.CreateEs256();
        _endpoint.Body = Bundle(rolledBack, 4);
        var refused = await AdvanceUntilAsync("older bundle refused", maxSteps: 2);

        // Assert: refused; the bundle in force stays, the replica stays ready and says why in a warning.
        Assert.Equal(HttpStatusCode.OK, refused.Status);
        var warning = Assert.Single(refused.Warnings);
        Assert.Contains($"the bundle endpoint of {TrustDomain} served spiffe_sequence 4, older than the 5 in force", warning, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(Svid(current)));
        Assert.Equal(HttpStatusCode.BadRequest, await ExchangeAsync(Svid(rolledBack)));
        var logged = Assert.Single(_logs.Entries, e => e.EventId.Name == "FederationStaleBundleIgnored");
        Assert.Equal((6202, LogLevel.Warning), (logged.EventId.Id, logged.Level));
        Assert.Equal(
            (TrustDomain, "4", "5"),
            (logged.Properties["TrustDomain"]?.ToString(), Convert.ToString(logged.Properties["Received"], CultureInfo.InvariantCulture), Convert.ToString(logged.Properties["Current"], CultureInfo.InvariantCulture)));

        // A refused bundle confirms nothing: served on, the bundle in force ages into stale (not ready), as when the
        // endpoint is silent.
        var stale = await AdvanceUntilAsync("stale", maxSteps: 4);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stale.Status);

        // A newer bundle is accepted: its key signs from now on, the rolled-back one never did, the warning is gone.
        var next = TestKey.CreateEs256();
        _endpoint.Body = Bundle(next, 6);
        var ok = await AdvanceUntilAsync("ok", maxSteps: 2);
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Empty(ok.Warnings);
        Assert.Equal(HttpStatusCode.OK, await ExchangeAsync(Svid(next)));
        Assert.Equal(HttpStatusCode.BadRequest, await ExchangeAsync(Svid(rolledBack)));
    }

    [Fact]
    public async Task EndpointCertificateNotTrusted_NoBundleIsTaken_NotReady()
    {
        // Arrange: the same endpoint, but the broker does not trust its root (as for any unknown CA on the Web PKI).
        var key = TestKey.CreateEs256();
        _endpoint.Body = Bundle(key, 1);

        // Act
        await StartBrokerAsync(trustTheRoot: false);

        // Assert: the TLS handshake failed, so nothing from the endpoint is trusted, and the replica says so.
        var ready = await ReadyAsync();
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "missing"), (ready.Status, ready.Bundles));
        Assert.Equal(HttpStatusCode.BadRequest, await ExchangeAsync(Svid(key)));
        var unavailable = Assert.Single(_logs.Entries, e => e.EventId.Name == "BundleUnavailable");
        Assert.Equal(3102, unavailable.EventId.Id);
        Assert.Equal("BundleEndpointException", unavailable.Properties["Error"]);
    }

    [Fact]
    public async Task EndpointRedirects_TheRedirectIsNotFollowed_NotReady()
    {
        // Arrange: the URL in policy answers 302 to the bundle, on the same trusted host.
        var key = TestKey.CreateEs256();
        _endpoint.Body = Bundle(key, 1);

        // Act
        await StartBrokerAsync(path: "/redirect");

        // Assert: only the URL written in policy is fetched; its redirect is a failed fetch, not a bundle.
        var ready = await ReadyAsync();
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "missing"), (ready.Status, ready.Bundles));
        Assert.Equal(1, _endpoint.Requests);
        Assert.Equal(HttpStatusCode.BadRequest, await ExchangeAsync(Svid(key)));
    }
}
