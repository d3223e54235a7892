using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Broker.IntegrationTests.Infrastructure;
using Broker.Testing;

namespace Broker.IntegrationTests.Hosting;

/// <summary>
/// Tokens never reach a log: the real broker process, started from another working directory (so no appsettings.json
/// is found there) with every log level raised to Trace (by default, by category, per provider, by wildcard), gets tokens in query strings, headers and bodies of every
/// endpoint, and none of them, nor any 20-character piece of their signatures, appears in its output.
/// </summary>
public sealed partial class SafeLoggingTests : IAsyncLifetime
{
    private readonly TempDirectory _workingDirectory = new();
    private readonly int _port = FreePorts.Next();
    private BrokerProcess _broker = null!;
    private HttpClient _client = null!;

    private string Issuer => $"http://127.0.0.1:{_port}";

    public async ValueTask InitializeAsync()
    {
        _broker = BrokerProcess.Start(
            _workingDirectory.Path,
            ["--dev", $"--Broker:Dev:Port={_port}"],
            new Dictionary<string, string>
            {
                ["Logging__LogLevel__Default"] = "Trace",
                ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
                ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
                ["Logging__Console__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace",
                ["Logging__LogLevel__Microsoft.AspNetCore.Server.Kestrel.BadRequests*"] = "Trace",
            });
        _client = new HttpClient { BaseAddress = new Uri(Issuer) };
        await _broker.WaitUntilReadyAsync(_client);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _broker.DisposeAsync();
        _workingDirectory.Dispose();
    }

    [Fact]
    public async Task TokensInQueriesHeadersAndBodies_OfEveryEndpoint_NeverReachTheLog()
    {
        // Arrange: tokens this test obtained or made itself (the dev banner's admin token is not among them).
        var forged = TestKey.CreateEs256().Sign(new Dictionary<string, object> { ["sub"] = "spiffe://dev.localhost/agents/forged", ["aud"] = Issuer, ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds() });
        var svid = await SvidAsync("spiffe://dev.localhost/agents/demo");
        var admin = await SvidAsync("spiffe://dev.localhost/admin");
        var exchanged = await SendAsync(HttpMethod.Post, "/oauth2/token", Exchange(svid), headers: [("X-Subject-Token", forged)], bearer: forged);
        Assert.Equal(HttpStatusCode.OK, exchanged.Status);
        var capability = AccessToken().Match(exchanged.Body).Groups[1].Value;
        string[] tokens = [forged, svid, admin, capability];

        // Act: every endpoint, every place a token can travel.
        foreach (var token in tokens)
        {
            await SendAsync(HttpMethod.Post, $"/oauth2/token?subject_token={token}", Exchange(token), headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Post, "/oauth2/token", Exchange(token), headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Get, $"/oauth2/token?subject_token={token}", null, headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Post, $"/oauth2/introspect?token={token}", Form(("token", token)), headers: [("X-Token", token)], bearer: svid);
            await SendAsync(HttpMethod.Post, "/oauth2/introspect", Form(("token", token)), headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Get, $"/admin/v1/grants?tenant=dev&token={token}", null, headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Post, $"/dev/verify?token={token}", Form(("token", token)), headers: [("X-Token", token)], bearer: token);
            await SendAsync(HttpMethod.Post, $"/oauth2/revoke?token={token}", Form(("token", token)), headers: [("X-Token", token)], bearer: token);
        }

        var introspected = await SendAsync(HttpMethod.Post, "/oauth2/introspect", Form(("token", capability)), bearer: svid);
        var listed = await SendAsync(HttpMethod.Get, "/admin/v1/grants?tenant=dev", null, bearer: admin);
        var verified = await SendAsync(HttpMethod.Post, "/dev/verify", null, bearer: capability);
        var revoked = await SendAsync(HttpMethod.Post, "/oauth2/revoke", Form(("token", capability)), headers: [("X-Token", capability)]);

        // A last refusal whose audit line marks the end of this test's traffic in the log.
        var marker = "log-check-" + Guid.NewGuid().ToString("N");
        var last = Exchange(svid);
        last["task_id"] = marker;
        last["scope"] = "no.such.capability";
        await SendAsync(HttpMethod.Post, "/oauth2/token", last);
        await Eventually.HoldsAsync(() => _broker.Output.Contains(marker, StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        // Assert: the traffic was real and the log verbose…
        Assert.Contains("\"active\":true", introspected.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, listed.Status);
        Assert.StartsWith("valid:", verified.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        var output = _broker.Output;
        Assert.Contains("trce: ", output, StringComparison.Ordinal);
        Assert.Contains("dbug: Microsoft.AspNetCore", output, StringComparison.Ordinal);

        // …and no token, nor any piece of a signature, is in it.
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token, output, StringComparison.Ordinal);
            var signature = token[(token.LastIndexOf('.') + 1)..];
            Assert.True(signature.Length >= 40, "a real signature");
            for (var i = 0; i + 20 <= signature.Length; i++)
            {
                Assert.DoesNotContain(signature.Substring(i, 20), output, StringComparison.Ordinal);
            }
        }
    }

    private async Task<string> SvidAsync(string spiffeId)
    {
        using var response = await _client.PostAsync($"/dev/svid?spiffe_id={spiffeId}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadAsStringAsync()).Trim();
    }

    private static Dictionary<string, string> Exchange(string subjectToken) => new()
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
        ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
        ["subject_token"] = subjectToken,
        ["resource"] = "https://mcp.dev.localhost/mcp",
        ["scope"] = "files.read",
        ["task_id"] = "log-check",
        ["purpose"] = "triage",
    };

    private static Dictionary<string, string> Form(params (string Name, string Value)[] parameters) => parameters.ToDictionary(p => p.Name, p => p.Value);

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, Dictionary<string, string>? form, (string Name, string Value)[]? headers = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = form is null ? null : new FormUrlEncodedContent(form) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("\"access_token\":\"([^\"]+)\"")]
    private static partial Regex AccessToken();
}
