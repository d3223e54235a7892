using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.Policy;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Authentication;

/// <summary>The Workload scheme's answers over HTTP: RFC 6750 challenges and catalog bodies, bounds, and tenant membership.</summary>
public sealed class WorkloadAuthenticationTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private async Task<(HttpStatusCode Status, string Challenge, JsonElement Body, string? CacheControl)> IntrospectAsync(Action<HttpRequestMessage> credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "x" }),
        };
        credential(request);
        using var response = await fixture.Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Headers.WwwAuthenticate.ToString(), JsonDocument.Parse(text).RootElement.Clone(), response.Headers.CacheControl?.ToString());
    }

    public static TheoryData<string> RefusedCredentials => ["none", "empty", "basic", "oversized", "two", "expired", "wrong-audience", "capability"];

    [Theory]
    [MemberData(nameof(RefusedCredentials))]
    public async Task Introspect_WithoutAnAcceptableCredential_Is401WithTheChallengeAndTheCatalogBody(string kind)
    {
        // Arrange
        var capability = (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")))).AccessToken;

        // Act
        var (status, challenge, body, cacheControl) = await IntrospectAsync(request =>
        {
            switch (kind)
            {
                case "empty":
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
                    break;
                case "basic":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
                    break;
                case "oversized":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", new string('a', 8193));
                    break;
                case "two":
                    request.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + fixture.Acme.Svid("/mcp/invoices"), "Bearer " + fixture.Acme.Svid("/mcp/invoices")]);
                    break;
                case "expired":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/mcp/invoices", lifetime: TimeSpan.FromMinutes(-5)));
                    break;
                case "wrong-audience":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/mcp/invoices", audience: "https://elsewhere.test"));
                    break;
                case "capability":
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", capability);
                    break;
            }
        });

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer error=\"invalid_token\"", challenge);
        Assert.Equal("invalid_token", body.GetProperty("error").GetString());
        Assert.Equal("Send your workload token as 'Authorization: Bearer <token>'.", body.GetProperty("error_description").GetString());
        Assert.Equal("no-store", cacheControl);
    }

    [Fact]
    public async Task Introspect_ValidWorkloadOfNoTenant_Is403()
    {
        // Arrange: the OIDC issuer is trusted, but no tenant claims this namespace.
        var outsider = fixture.Oidc.ServiceAccountToken("marketing", "bot");

        // Act
        var (status, challenge, body, _) = await IntrospectAsync(r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", outsider));

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("Bearer error=\"insufficient_scope\"", challenge);
        Assert.Equal("insufficient_scope", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Introspect_WorkloadOfATenant_IsServed()
    {
        var (status, _, body, _) = await IntrospectAsync(r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Oidc.ServiceAccountToken("payments", "bot")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(body.GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task AdminApi_NoPolicyInForce_Is503WithRetryAfter()
    {
        // Arrange: a broker whose policy provider has nothing in force (as before the first successful load).
        await using var empty = new ExchangeFixture { Services = services => services.AddSingleton<IPolicyProvider>(new NoPolicy()) };
        await empty.InitializeAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/grants?tenant=acme");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", empty.Acme.Svid("/admins/alice"));

        // Act
        using var response = await empty.Host.Client.SendAsync(request);

        // Assert
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("temporarily_unavailable", body.RootElement.GetProperty("error").GetString());
    }

    private sealed class NoPolicy : IPolicyProvider
    {
        public PolicySet? Current => null;

        public PolicyReloadFailure? LastReloadFailure => null;

        public event Action<PolicySet>? Changed
        {
            add { }
            remove { }
        }

        public PolicyLoadResult Reload() => new(null, []);
    }
}
