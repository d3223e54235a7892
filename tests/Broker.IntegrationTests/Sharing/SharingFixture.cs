using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Grants;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.IntegrationTests.Sharing;

/// <summary>
/// The exchange fixture's broker with four more tenants for sharing across tenants (docs/sharing.md): <c>platform</c>
/// owns a tickets MCP server whose capabilities stand for every sharing state and permission, <c>payments</c> and
/// <c>support</c> consume, <c>other</c> is a tenant nothing is shared with. Each has its trust domain and admins.
/// </summary>
/// <remarks>
/// The capabilities of <c>platform</c>, all on <see cref="Tickets"/>: <c>both.de</c> shared (discover, execute) and
/// accepted; <c>both.d</c> shared for discovery only, accepted; <c>both.e</c> shared for execution only, accepted;
/// <c>owner.de</c> shared, accepted by nobody; <c>consumer.de</c> accepted, not shared; <c>none.de</c> neither;
/// <c>subject.de</c> shared with payments' reconciler only (by subject pattern), accepted by both consumers.
/// </remarks>
public abstract class SharingFixture : IAsyncLifetime
{
    public const string Tickets = "https://mcp.platform.test/tickets";

    private readonly ExchangeFixture _exchange = new();

    public ExchangeFixture Exchange => _exchange;

    internal IGrantStore Store => _exchange.Host.Services.GetRequiredService<IGrantStore>();

    /// <summary>Writes the grant counts the access review reads now, rather than at the next flush interval.</summary>
    public Task FlushUsageAsync(CancellationToken cancellationToken) =>
        _exchange.Host.Services.GetRequiredService<Broker.Review.UsageFlusher>().FlushAsync(cancellationToken);

    public Dictionary<string, TestSpiffeAuthority> Tenants { get; } = new(StringComparer.Ordinal);

    /// <summary>An SVID of <paramref name="tenant"/>'s trust domain (<c>tenant.test</c>).</summary>
    public string Svid(string tenant, string path) => Tenants[tenant].Svid(path);

    /// <summary>An SVID of an admin of <paramref name="tenant"/>.</summary>
    public string Admin(string tenant) => Svid(tenant, "/admins/alice");

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public virtual async ValueTask InitializeAsync()
    {
        _exchange.Configure = Configure;
        _exchange.BeforeStart = () =>
        {
            foreach (var tenant in new[] { "platform", "payments", "support", "other" })
            {
                Tenants[tenant] = new TestSpiffeAuthority($"{tenant}.test", Path.Combine(_exchange.Directory.Path, "policy", "bundles", $"{tenant}.json"));
            }

            _exchange.Directory.Write("policy/platform.yaml", PlatformPolicy);
            _exchange.Directory.Write("policy/payments.yaml", ConsumerPolicy("payments"));
            _exchange.Directory.Write("policy/support.yaml", ConsumerPolicy("support"));
            _exchange.Directory.Write("policy/other.yaml", ConsumerPolicy("other", accepts: false));
        };
        await _exchange.InitializeAsync();
    }

    public virtual async ValueTask DisposeAsync()
    {
        await _exchange.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Exchanges <paramref name="subjectToken"/> for <paramref name="scope"/> on <paramref name="resource"/> in a task of its own.</summary>
    public Task<ExchangeResponse> ExchangeAsync(string subjectToken, string scope, string resource = Tickets, string? task = null)
    {
        var form = ExchangeFixture.Request(subjectToken, scope, resource);
        form["task_id"] = task ?? "task-" + Guid.NewGuid().ToString("N")[..12];
        return _exchange.ExchangeAsync(form);
    }

    /// <summary>Sends a JSON request with a workload's (or admin's) SVID as bearer credential.</summary>
    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await _exchange.Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private const string PlatformPolicy = $$"""
        tenant: platform
        admins: ["spiffe://platform.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: platform.test
              bundle_file: bundles/platform.json
        capabilities:
          - { name: both.de, resource: "{{Tickets}}", tools: [search_tickets] }
          - { name: both.d, resource: "{{Tickets}}", tools: [close_ticket] }
          - { name: both.e, resource: "{{Tickets}}", tools: [export_tickets] }
          - { name: owner.de, resource: "{{Tickets}}" }
          - { name: consumer.de, resource: "{{Tickets}}" }
          - { name: none.de, resource: "{{Tickets}}" }
          - { name: subject.de, resource: "{{Tickets}}" }
        rules:
          - subjects: ["spiffe://platform.test/agents/*"]
            capabilities: ["*"]
            permissions: [discover, execute]
          - subjects: ["spiffe://platform.test/mcp/tickets"]
            capabilities: ["*"]
            permissions: [publish]
        shares:
          - capabilities: [both.de, owner.de]
            tenants: [payments, support]
            permissions: [discover, execute]
          - capabilities: [both.d]
            tenants: [payments, support]
            permissions: [discover]
          - capabilities: [both.e]
            tenants: [payments, support]
            permissions: [execute]
          - capabilities: [subject.de]
            tenants: [payments, support]
            permissions: [discover, execute]
            subjects: ["spiffe://payments.test/agents/reconciler"]
        """;

    private static string ConsumerPolicy(string tenant, bool accepts = true) => $$"""
        tenant: {{tenant}}
        admins: ["spiffe://{{tenant}}.test/admins/*"]
        trust:
          spiffe:
            - trust_domain: {{tenant}}.test
              bundle_file: bundles/{{tenant}}.json
        capabilities:
          - { name: ledger.read, resource: "https://mcp.{{tenant}}.test/ledger" }
        {{(accepts ? """
        accepts:
          - tenant: platform
            capabilities: [both.de, both.d, both.e, consumer.de, subject.de]
        """ : "")}}
        rules:
          - subjects: ["spiffe://{{tenant}}.test/agents/*"]
            capabilities: [ledger.read{{(accepts ? ", \"platform:both.de\", \"platform:both.d\", \"platform:both.e\", \"platform:consumer.de\", \"platform:subject.de\"" : "")}}]
            permissions: [discover, execute]
        """;
}

/// <summary>The sharing fixture on the in-memory grant store.</summary>
public sealed class InMemorySharingFixture : SharingFixture;

/// <summary>The sharing fixture on a redis-server of its own.</summary>
public sealed class RedisSharingFixture : SharingFixture
{
    private readonly RedisServerFixture _redis = new();

    public override async ValueTask InitializeAsync()
    {
        await _redis.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Broker:Redis:Configuration"] = _redis.Configuration;
        settings["Broker:Redis:KeyPrefix"] = RedisServerFixture.NewKeyPrefix();
    }
}
