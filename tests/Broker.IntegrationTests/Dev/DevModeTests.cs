using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Broker.Testing;

namespace Broker.IntegrationTests.Dev;

/// <summary>
/// The README's quick start, for real: the broker process started with <c>--dev</c>, then the three
/// curl steps (a dev JWT-SVID, the exchange, the verification) and the printed admin credential.
/// </summary>
public sealed partial class DevModeTests : IAsyncLifetime
{
    private readonly int _port = FreePorts.Next();
    private readonly List<string> _output = [];
    private Process _broker = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Broker.dll"), "--dev", $"--Broker:Dev:Port={_port}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        _broker = Process.Start(start)!;
        _broker.OutputDataReceived += (_, e) => Record(e.Data);
        _broker.ErrorDataReceived += (_, e) => Record(e.Data);
        _broker.BeginOutputReadLine();
        _broker.BeginErrorReadLine();
        _client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(_broker.HasExited, "The dev broker exited: " + Output);
            Assert.True(DateTime.UtcNow < deadline, "The dev broker did not become ready: " + Output);
            try
            {
                using var ready = await _client.GetAsync("/readyz");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (!_broker.HasExited)
        {
            _broker.Kill(entireProcessTree: true);
            await _broker.WaitForExitAsync();
        }

        _broker.Dispose();
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    private void Record(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    [Fact]
    public async Task QuickStart_SvidExchangeAndVerify_AsInTheReadme()
    {
        // SVID=$(curl -s -X POST 'http://127.0.0.1:5080/dev/svid?spiffe_id=spiffe://dev.localhost/agents/demo')
        using var svidResponse = await _client.PostAsync("/dev/svid?spiffe_id=spiffe://dev.localhost/agents/demo", null);
        var svid = (await svidResponse.Content.ReadAsStringAsync()).Trim();
        Assert.Equal(HttpStatusCode.OK, svidResponse.StatusCode);

        // TOKEN=$(curl -s http://127.0.0.1:5080/oauth2/token -d … | jq -r …)
        using var exchange = await _client.PostAsync("/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["subject_token"] = svid,
            ["resource"] = "https://mcp.dev.localhost/mcp",
            ["scope"] = "files.read",
            ["task_id"] = "demo-1",
            ["purpose"] = "triage",
        }));
        var body = await exchange.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, exchange.StatusCode);
        var token = AccessToken().Match(body).Groups[1].Value;

        // curl -s -X POST http://127.0.0.1:5080/dev/verify -H "Authorization: Bearer $TOKEN"
        using var verify = new HttpRequestMessage(HttpMethod.Post, "/dev/verify");
        verify.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var verified = await _client.SendAsync(verify);
        var text = await verified.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.StartsWith("valid:", text, StringComparison.Ordinal);
        Assert.Contains("\"sub\":\"spiffe://dev.localhost/agents/demo\"", text, StringComparison.Ordinal);

        // The banner says it is not for production, and a dev admin credential is printed.
        Assert.Contains("NOT FOR PRODUCTION", Output, StringComparison.Ordinal);
        Assert.Matches("export BROKER_URL=http://127.0.0.1:[0-9]+ BROKER_TOKEN=ey", Output);

        // The printed credential is the dev global admin (spiffe://dev.localhost/admin, an SVID of the dev trust domain).
        using var admin = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/audit");
        admin.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken().Match(Output).Groups[1].Value);
        using var audit = await _client.SendAsync(admin);
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
    }

    [Fact]
    public async Task JwtBearer_AsInDocsMcp_AgainstTheDevBroker()
    {
        // SVID=$(curl -s -X POST 'http://127.0.0.1:5080/dev/svid?spiffe_id=spiffe://dev.localhost/agents/demo')
        var svid = await SvidAsync("spiffe://dev.localhost/agents/demo");

        // curl -s http://127.0.0.1:5080/oauth2/token -d grant_type=…:jwt-bearer --data-urlencode "assertion=$SVID" -d resource=… -d scope=files.read
        var (status, body) = await JwtBearerAsync(svid, "files.read");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\"token_type\":\"Bearer\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("issued_token_type", body, StringComparison.Ordinal);
        using var verify = new HttpRequestMessage(HttpMethod.Post, "/dev/verify");
        verify.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AccessToken().Match(body).Groups[1].Value);
        using var verified = await _client.SendAsync(verify);
        var text = await verified.Content.ReadAsStringAsync();
        Assert.StartsWith("valid:", text, StringComparison.Ordinal);
        Assert.Contains("\"purpose\":\"(none)\"", text, StringComparison.Ordinal);

        // The writer's files.write needs purpose=code-change: refused without it, granted with it.
        var writer = await SvidAsync("spiffe://dev.localhost/agents/writer");
        Assert.Equal(HttpStatusCode.BadRequest, (await JwtBearerAsync(writer, "files.write")).Status);
        Assert.Equal(HttpStatusCode.OK, (await JwtBearerAsync(writer, "files.write", purpose: "code-change")).Status);
    }

    private async Task<string> SvidAsync(string spiffeId)
    {
        using var response = await _client.PostAsync($"/dev/svid?spiffe_id={spiffeId}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadAsStringAsync()).Trim();
    }

    private async Task<(HttpStatusCode Status, string Body)> JwtBearerAsync(string assertion, string scope, string? purpose = null)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
            ["assertion"] = assertion,
            ["resource"] = "https://mcp.dev.localhost/mcp",
            ["scope"] = scope,
        };
        if (purpose is not null)
        {
            form["purpose"] = purpose;
        }

        using var response = await _client.PostAsync("/oauth2/token", new FormUrlEncodedContent(form));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public void RunFromTheRepository_WatchesTheSamplePolicySource_NotTheBuildCopy()
    {
        var repository = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(repository.FullName, "Broker.sln")))
        {
            repository = repository.Parent ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
        }

        var source = Path.Combine(repository.FullName, "samples", "dev", "policy");
        Assert.Contains($"Policy: {source} (edits apply on save)", Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrintedRenewCommand_IssuesAWorkingDevAdminToken()
    {
        // export BROKER_TOKEN=$(curl -s -X POST 'http://127.0.0.1:…/dev/svid?spiffe_id=spiffe://dev.localhost/admin')
        var renew = RenewCommand().Match(Output);
        Assert.True(renew.Success, "No renew command in the banner: " + Output);
        using var issued = await _client.PostAsync(new Uri(renew.Groups[1].Value), null);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);

        using var admin = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/audit");
        admin.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await issued.Content.ReadAsStringAsync()).Trim());
        using var audit = await _client.SendAsync(admin);
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
    }

    [Fact]
    public async Task DevIdentitySource_RefusesIdsOutsideTheDevTrustDomain()
    {
        using var response = await _client.PostAsync("/dev/svid?spiffe_id=spiffe://prod.example/agents/x", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [GeneratedRegex("\"access_token\":\"([^\"]+)\"")]
    private static partial Regex AccessToken();

    [GeneratedRegex(@"export BROKER_TOKEN=\$\(curl -s -X POST '([^']+)'\)")]
    private static partial Regex RenewCommand();

    [GeneratedRegex("BROKER_TOKEN=([A-Za-z0-9_.-]+)")]
    private static partial Regex AdminToken();
}
