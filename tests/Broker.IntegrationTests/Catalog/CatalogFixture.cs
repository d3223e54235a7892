using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Catalog;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Catalog;

/// <summary>
/// A broker whose tenant acme requires publication (two MCP servers, three agents with different permissions) and whose
/// tenant globex hides what a caller cannot execute, on real Kestrel; the store is memory unless <see cref="StartAsync"/>'s settings
/// selects Redis. One per test class instance, so each test starts from an empty catalog.
/// </summary>
public sealed class CatalogFixture : IAsyncDisposable
{
    public const string Invoices = "https://mcp.acme.test/invoices";
    public const string Crm = "https://mcp.acme.test/crm";
    public const string Reports = "https://mcp.globex.test/reports";

    /// <summary>The publisher of <see cref="Invoices"/> (publish on invoices.read and invoices.write).</summary>
    public const string InvoicesServer = "/servers/invoices";

    /// <summary>The publisher of <see cref="Crm"/>.</summary>
    public const string CrmServer = "/servers/crm";

    /// <summary>May publish invoices.read only (not invoices.write).</summary>
    public const string HalfPublisher = "/servers/invoices-reader";

    /// <summary>Discovers and executes invoices.read and crm.read; discovers invoices.write.</summary>
    public const string Reader = "/agents/reader";

    /// <summary>Discovers every capability, executes none.</summary>
    public const string Auditor = "/agents/auditor";

    /// <summary>Executes invoices.read without discovering anything.</summary>
    public const string Runner = "/agents/runner";

    private BrokerTestHost? _host;

    public TempDirectory Directory { get; } = new();

    public TestSpiffeAuthority Acme { get; private set; } = null!;

    public TestSpiffeAuthority Globex { get; private set; } = null!;

    public BrokerTestHost Host => _host ?? throw new InvalidOperationException("Call StartAsync first.");

    public static string AcmePolicy => $$"""
        tenant: acme
        max_lifetime: 10m
        publishing: required
        admins: ["spiffe://acme.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_file: bundles/acme.json
        capabilities:
          - name: invoices.read
            resource: {{Invoices}}
            tools: [list_invoices, get_invoice]
            max_lifetime: 5m
          - name: invoices.write
            resource: {{Invoices}}
            tools: [create_invoice]
          - name: crm.read
            resource: {{Crm}}
            tools: [find_contact]
        rules:
          - name: the invoices server publishes its capabilities
            subjects: ["spiffe://acme.test{{InvoicesServer}}"]
            capabilities: [invoices.read, invoices.write]
            permissions: [publish]
          - name: a second server may publish reads only
            subjects: ["spiffe://acme.test{{HalfPublisher}}"]
            capabilities: [invoices.read]
            permissions: [publish]
          - name: the crm server publishes crm.read
            subjects: ["spiffe://acme.test{{CrmServer}}"]
            capabilities: [crm.read]
            permissions: [publish]
          - name: the reader reads
            subjects: ["spiffe://acme.test{{Reader}}"]
            capabilities: [invoices.read, crm.read]
            permissions: [discover, execute]
          - name: the reader sees that writing exists
            subjects: ["spiffe://acme.test{{Reader}}"]
            capabilities: [invoices.write]
            permissions: [discover]
          - name: the auditor sees everything
            subjects: ["spiffe://acme.test{{Auditor}}"]
            capabilities: ["*"]
            permissions: [discover]
          - name: the runner executes blind
            subjects: ["spiffe://acme.test{{Runner}}"]
            capabilities: [invoices.read]
            permissions: [execute]
        """;

    public static string GlobexPolicy => $$"""
        tenant: globex
        discovery: hide
        trust:
          spiffe:
            - trust_domain: globex.test
              bundle_file: bundles/globex.json
        capabilities:
          - name: reports.read
            resource: {{Reports}}
            tools: [run_report]
          - name: reports.admin
            resource: {{Reports}}
            tools: [purge_reports]
        rules:
          - subjects: ["spiffe://globex.test/agents/*"]
            capabilities: [reports.read]
            permissions: [discover, execute]
          - subjects: ["spiffe://globex.test/agents/*"]
            capabilities: [reports.admin]
            permissions: [discover]
          - subjects: ["spiffe://globex.test/servers/reports"]
            capabilities: ["*"]
            permissions: [publish]
        """;

    /// <summary>Starts the broker; <paramref name="configure"/> adds settings (a Redis store, small bounds).</summary>
    public async Task StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory.Path, "policy", "bundles"));
        Acme = new TestSpiffeAuthority("acme.test", Path.Combine(Directory.Path, "policy", "bundles", "acme.json"));
        Globex = new TestSpiffeAuthority("globex.test", Path.Combine(Directory.Path, "policy", "bundles", "globex.json"));
        Directory.Write("policy/acme.yaml", AcmePolicy);
        Directory.Write("policy/globex.yaml", GlobexPolicy);
        _host = await BrokerTestHost.StartAsync(Path.Combine(Directory.Path, "policy"), s =>
        {
            s.Configure<CatalogOptions>(o =>
            {
                o.MaxTools = 8;
                o.MaxBodyBytes = 4096;
            });
            configure?.Invoke(s);
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        Directory.Dispose();
    }

    /// <summary>A publish body: (name, capability) pairs with a schema hash.</summary>
    public static string Body(params (string Name, string Capability)[] tools) =>
        JsonSerializer.Serialize(new { tools = tools.Select(t => new { name = t.Name, capability = t.Capability, title = t.Name.Replace('_', ' '), description = "Does " + t.Name + ".", input_schema_sha256 = new string('0', 63) + "1" }) });

    /// <summary>Sends a catalog request with <paramref name="svid"/> as the workload credential.</summary>
    public async Task<CatalogResponse> SendAsync(HttpMethod method, string path, string? svid, string? body = null, Action<HttpRequestMessage>? headers = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (svid is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", svid);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        headers?.Invoke(request);
        using var response = await Host.Client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var json = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return new CatalogResponse(response.StatusCode, json, response.Headers.ETag?.ToString());
    }

    /// <summary><c>PUT /catalog/v1/resources?resource=</c> by the workload at <paramref name="path"/> of acme.</summary>
    public Task<CatalogResponse> PublishAsync(string path, string resource, string body, Action<HttpRequestMessage>? headers = null) =>
        SendAsync(HttpMethod.Put, ResourcePath(resource), Acme.Svid(path), body, headers);

    public Task<CatalogResponse> UnpublishAsync(string path, string resource, Action<HttpRequestMessage>? headers = null) =>
        SendAsync(HttpMethod.Delete, ResourcePath(resource), Acme.Svid(path), headers: headers);

    public static string ResourcePath(string resource) => "/catalog/v1/resources?resource=" + Uri.EscapeDataString(resource);

    /// <summary>Publishes everything the acme servers serve on <paramref name="resource"/> (asserting success).</summary>
    public async Task PublishAllAsync(string resource)
    {
        var (server, body) = resource == Invoices
            ? (InvoicesServer, Body(("list_invoices", "invoices.read"), ("get_invoice", "invoices.read"), ("create_invoice", "invoices.write")))
            : (CrmServer, Body(("find_contact", "crm.read")));
        var response = await PublishAsync(server, resource, body);
        if (response.Status is not (HttpStatusCode.OK or HttpStatusCode.Created))
        {
            throw new InvalidOperationException($"Publishing {resource} answered {response.Status}: {response.Json}");
        }
    }

    /// <summary>Writes the grant counters the access review reads now, rather than at the next flush interval.</summary>
    public Task FlushUsageAsync() =>
        Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Broker.Review.UsageFlusher>(Host.Services).FlushAsync(TestContext.Current.CancellationToken);

    /// <summary>An exchange by the acme workload at <paramref name="path"/> for <paramref name="scope"/> on <paramref name="resource"/>.</summary>
    public async Task<ExchangeResponse> ExchangeAsync(string path, string scope, string resource, TestSpiffeAuthority? authority = null)
    {
        var form = ExchangeFixture.Request((authority ?? Acme).Svid(path), scope, resource);
        using var content = new FormUrlEncodedContent(form);
        using var response = await Host.Client.PostAsync("/oauth2/token", content, TestContext.Current.CancellationToken);
        return await ExchangeResponse.ReadAsync(response);
    }
}

/// <summary>A catalog endpoint answer.</summary>
public sealed record CatalogResponse(HttpStatusCode Status, JsonElement Json, string? ETag)
{
    public string? Error => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out var e) ? e.GetString() : null;
}
