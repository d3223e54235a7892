using System.Net;
using System.Text.Json;
using Broker.Audit;
using Broker.Authentication;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// A broker with two tenants (acme, globex), two SPIFFE trust domains backed by bundle files and an
/// OIDC issuer served on loopback, shared by the exchange tests.
/// </summary>
public sealed class ExchangeFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string InvoicesResource = "https://mcp.acme.test/invoices";
    public const string CrmResource = "https://mcp.acme.test/crm";
    public const string GlobexInvoicesResource = "https://mcp.globex.test/invoices";
    public const string GlobalAdmin = "spiffe://acme.test/platform/root";

    /// <summary>Extra broker settings, for tests that start their own fixture.</summary>
    public Action<Dictionary<string, string?>>? Configure { get; set; }

    /// <summary>Extra services, for tests that start their own fixture (e.g. a log capture).</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? Services { get; set; }

    /// <summary>Serve HTTPS (the test supplies the certificate through <see cref="Configure"/>).</summary>
    public bool Https { get; set; }

    /// <summary>Runs after the trust domains exist and before the broker starts.</summary>
    public Action? BeforeStart { get; set; }

    public TempDirectory Directory { get; } = new();

    public TestSpiffeAuthority Acme { get; private set; } = null!;

    public TestSpiffeAuthority Globex { get; private set; } = null!;

    public TestOidcIssuer Oidc { get; private set; } = null!;

    public BrokerTestHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory.Path, "policy", "bundles"));
        Acme = new TestSpiffeAuthority("acme.test", Path.Combine(Directory.Path, "policy", "bundles", "acme.json"));
        Globex = new TestSpiffeAuthority("globex.test", Path.Combine(Directory.Path, "policy", "bundles", "globex.json"));
        Oidc = await TestOidcIssuer.StartAsync();
        Directory.Write("policy/acme.yaml", AcmePolicy(Oidc.Issuer));
        Directory.Write("policy/globex.yaml", GlobexPolicy);
        BeforeStart?.Invoke();
        Host = await BrokerTestHost.StartAsync(
            Path.Combine(Directory.Path, "policy"),
            s =>
            {
                s.Configure<AdminOptions>(o => o.GlobalAdmins.Add(GlobalAdmin));
                Configure?.Invoke(s);
            },
            Services,
            https: Https);
    }

    public async ValueTask DisposeAsync()
    {
        // Null when the broker refused to start.
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        await Oidc.DisposeAsync();
        Directory.Dispose();
    }

    /// <summary>A valid request for <paramref name="subjectToken"/>; tests change what they need.</summary>
    public static Dictionary<string, string> Request(string subjectToken, string scope = "invoices.read", string resource = InvoicesResource) => new()
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
        ["subject_token"] = subjectToken,
        ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
        ["resource"] = resource,
        ["scope"] = scope,
        ["task_id"] = "task-42",
        ["purpose"] = "billing",
    };

    /// <summary>
    /// A valid RFC 7523 jwt-bearer request for <paramref name="assertion"/>, as an MCP SDK client sends it (no task
    /// context); tests change what they need.
    /// </summary>
    public static Dictionary<string, string> JwtBearerRequest(string assertion, string scope = "invoices.read", string resource = InvoicesResource) => new()
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ["assertion"] = assertion,
        ["resource"] = resource,
        ["scope"] = scope,
    };

    public async Task<ExchangeResponse> ExchangeAsync(IEnumerable<KeyValuePair<string, string>> form)
    {
        using var content = new FormUrlEncodedContent(form);
        using var response = await Host.Client.PostAsync("/oauth2/token", content);
        return await ExchangeResponse.ReadAsync(response);
    }

    public int AllowedCount => Host.AuditTrail.Count(e => e.Outcome == AuditOutcome.Allowed);

    private static string AcmePolicy(string oidcIssuer) => $$"""
        tenant: acme
        max_lifetime: 10m
        admins: ["spiffe://acme.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_file: bundles/acme.json
          oidc:
            - issuer: {{oidcIssuer}}
              subject: "spiffe://k8s.acme.test/ns/{kubernetes.io/namespace}/sa/{kubernetes.io/serviceaccount/name}"
              spiffe_trust_domains: [k8s.acme.test]
              claims:
                kubernetes.io/namespace: [payments, ops]
        capabilities:
          - name: invoices.read
            resource: {{InvoicesResource}}
            tools: [list_invoices, get_invoice]
            max_lifetime: 5m
          - name: invoices.write
            resource: {{InvoicesResource}}
            tools: [create_invoice]
            max_lifetime: 2m
          - name: crm.read
            resource: {{CrmResource}}
            audience: crm
          - name: secrets.read
            resource: https://mcp.acme.test/secrets
            proof_of_possession: true
        rules:
          - name: agents read
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read, crm.read, secrets.read]
            permissions: [discover, execute]
          - name: billing writes invoices for billing, also through orchestrators
            subjects: ["spiffe://acme.test/agents/billing"]
            capabilities: [invoices.read, invoices.write]
            permissions: [execute]
            purposes: [billing]
            delegation:
              actors: ["spiffe://acme.test/orchestrator/**"]
              max_depth: 2
          - name: payments pods read invoices
            subjects: ["spiffe://k8s.acme.test/ns/payments/sa/*"]
            claims:
              kubernetes.io/namespace: payments
            capabilities: [invoices.read]
            permissions: [execute]
        """;

    private const string GlobexPolicy = $$"""
        tenant: globex
        admins: ["spiffe://globex.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: globex.test
              bundle_file: bundles/globex.json
        capabilities:
          - name: invoices.read
            resource: {{GlobexInvoicesResource}}
        rules:
          - subjects: ["spiffe://globex.test/agents/*"]
            capabilities: ["*"]
            permissions: [execute]
        """;
}

/// <summary>A token endpoint answer, parsed.</summary>
public sealed record ExchangeResponse(HttpStatusCode Status, string Body, JsonElement Json, string? CacheControl, string? RetryAfter)
{
    public string? Error => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("error", out var e) ? e.GetString() : null;

    public string AccessToken => Json.GetProperty("access_token").GetString()!;

    public static async Task<ExchangeResponse> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        JsonElement json = default;
        if (body.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            json = JsonDocument.Parse(body).RootElement.Clone();
        }

        return new ExchangeResponse(
            response.StatusCode,
            body,
            json,
            response.Headers.CacheControl?.ToString(),
            response.Headers.RetryAfter?.ToString());
    }
}
