using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.AuthZen;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Policy;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.AuthZen;

/// <summary>
/// <c>Broker:AuthZen:AllowedHosts</c>: a tenant's policy may make the broker call only the decision point hosts the
/// operator lists. A policy naming another host does not load (at start or on reload), and the client checks again before
/// each call, against a real decision point process that counts what reaches it.
/// </summary>
public sealed class AuthZenAllowedHostsTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private TestSpiffeAuthority _acme = null!;
    private AuthZenPdp _pdp = null!;

    private string PolicyDirectory => Path.Combine(_directory.Path, "policy");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(PolicyDirectory, "bundles"));
        _acme = new TestSpiffeAuthority("acme.test", Path.Combine(PolicyDirectory, "bundles", "acme.json"));
        _pdp = await AuthZenPdp.StartAsync(Path.Combine(_directory.Path, "pdp-rules.json"), [new JsonObject { ["subject"] = "*", ["action"] = "*", ["resource"] = "*", ["respond"] = "decision", ["decision"] = true }], token: null);
    }

    public async ValueTask DisposeAsync()
    {
        await _pdp.DisposeAsync();
        _directory.Dispose();
    }

    private static string Policy(Uri decisionPoint) => $$"""
        tenant: acme
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_file: bundles/acme.json
        decision_points:
          - name: main
            url: {{decisionPoint}}
            timeout: 10s
        capabilities:
          - { name: invoices.read, resource: "https://mcp.acme.test/invoices" }
        rules:
          - { name: agents, subjects: ["spiffe://acme.test/agents/*"], capabilities: [invoices.read], permissions: [execute], decision_point: main }
        """;

    private Task<BrokerTestHost> StartAsync(params string[] allowedHosts) =>
        BrokerTestHost.StartAsync(PolicyDirectory, s =>
        {
            for (var i = 0; i < allowedHosts.Length; i++)
            {
                s[$"Broker:AuthZen:AllowedHosts:{i}"] = allowedHosts[i];
            }
        });

    private async Task<HttpStatusCode> ExchangeAsync(BrokerTestHost host)
    {
        using var content = new FormUrlEncodedContent(ExchangeFixture.Request(_acme.Svid("/agents/reader"), "invoices.read", "https://mcp.acme.test/invoices"));
        using var response = await host.Client.PostAsync("/oauth2/token", content);
        return response.StatusCode;
    }

    /// <summary>The same decision point process under a name the allowlist does not list.</summary>
    private Uri ByLocalhost => new UriBuilder(_pdp.EvaluationEndpoint) { Host = "localhost" }.Uri;

    [Fact]
    public async Task AllowedHost_DecisionPointIsCalled()
    {
        // Arrange
        _directory.Write("policy/acme.yaml", Policy(_pdp.EvaluationEndpoint));
        await using var host = await StartAsync("pdp.unrelated.test", _pdp.EvaluationEndpoint.Authority);

        // Act
        var status = await ExchangeAsync(host);

        // Assert: the positive control for the refusals below.
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, await _pdp.CountAsync());
    }

    public static TheoryData<string[]> NotListing => new()
    {
        Array.Empty<string>(),
        new[] { "pdp.unrelated.test" },
        new[] { "127.0.0.2:1" },
    };

    [Theory]
    [MemberData(nameof(NotListing))]
    public async Task HostNotAllowed_BrokerRefusesToStart_NamingTheFileAndLine(string[] allowedHosts)
    {
        // Arrange
        _directory.Write("policy/acme.yaml", Policy(_pdp.EvaluationEndpoint));

        // Act
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(allowedHosts));

        // Assert: the url's line (8) of acme.yaml; nothing reached the decision point.
        Assert.Contains("acme.yaml:8:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Broker:AuthZen:AllowedHosts", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await _pdp.CountAsync());
    }

    [Fact]
    public async Task SameProcessUnderAnotherName_IsNotAllowed()
    {
        // Arrange: the allowlist names 127.0.0.1:port; localhost:port reaches the same process, but is not listed.
        _directory.Write("policy/acme.yaml", Policy(ByLocalhost));

        // Act
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(_pdp.EvaluationEndpoint.Authority));

        // Assert
        Assert.Contains($"names host '{ByLocalhost.Authority}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reload_NamingAHostNotAllowed_IsRejected_AndTheLastGoodPolicyStays()
    {
        // Arrange
        _directory.Write("policy/acme.yaml", Policy(_pdp.EvaluationEndpoint));
        await using var host = await StartAsync(_pdp.EvaluationEndpoint.Authority);
        var policy = host.Services.GetRequiredService<IPolicyProvider>();
        var version = policy.Current!.Version;

        // Act: an edit aiming the decision point elsewhere.
        _directory.Write("policy/acme.yaml", Policy(new Uri("http://127.0.0.1:1/internal/admin")));
        await Eventually.HoldsAsync(() => policy.LastReloadFailure is not null, TimeSpan.FromSeconds(15));
        var status = await ExchangeAsync(host);

        // Assert: the policy in force is the one before the edit, which still calls the allowed decision point.
        Assert.Equal(version, policy.Current!.Version);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, await _pdp.CountAsync());
    }

    [Fact]
    public async Task Client_DecisionPointOnAHostNotAllowed_IsNotCalled_EvenIfPolicyNamesIt()
    {
        // Arrange: a broker whose allowlist lists the decision point by address; decision points built by hand, as a
        // policy set not produced by the loader would carry them.
        _directory.Write("policy/acme.yaml", Policy(_pdp.EvaluationEndpoint));
        await using var host = await StartAsync(_pdp.EvaluationEndpoint.Authority);
        var client = host.Services.GetRequiredService<DecisionPointClient>();
        DecisionPoint At(Uri url) => new() { Tenant = "acme", Name = "main", EvaluationEndpoint = url, Timeout = TimeSpan.FromSeconds(10) };
        var body = Encoding.UTF8.GetBytes("""{"subject":{"type":"workload","id":"x"},"action":{"name":"execute"},"resource":{"type":"capability","id":"invoices.read"}}""");

        // Act
        var refused = await client.EvaluateAsync(At(ByLocalhost), body, "req-1", TestContext.Current.CancellationToken);
        var callsAfterRefusal = await _pdp.CountAsync();
        var allowed = await client.EvaluateAsync(At(_pdp.EvaluationEndpoint), body, "req-2", TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(new AuthZenAnswer(AuthZenVerdict.Unavailable, "host not allowed"), refused);
        Assert.Equal(0, callsAfterRefusal);
        Assert.Equal(AuthZenVerdict.Permit, allowed.Verdict);
        Assert.Equal(1, await _pdp.CountAsync());
    }
}
