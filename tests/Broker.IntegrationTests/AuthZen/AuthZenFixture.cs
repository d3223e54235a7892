using System.Text.Json.Nodes;
using Broker.AuthZen;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Testing;

namespace Broker.IntegrationTests.AuthZen;

/// <summary>
/// The real broker (Kestrel on loopback, in-memory store) whose tenant "acme" delegates rules to decision points, and
/// a real decision point process (<see cref="AuthZenPdp"/>) deciding from rules the fixture writes. Timeouts are the
/// longest policy allows (10 s), so a loaded machine never turns a slow answer into a refusal the test did not intend. Several decision
/// points of the policy name the same process, each with its own settings (cache, credential), and two name addresses
/// where nothing answers correctly (down, a secret that does not exist).
/// </summary>
public class AuthZenFixture : IAsyncLifetime
{
    public const string Tenant = "acme";
    public const string PdpToken = "pdp-secret-7f3a9c";
    public const string Orchestrator = "spiffe://acme.test/orchestrator";

    public TempDirectory Directory { get; } = new();

    public TestSpiffeAuthority Acme { get; private set; } = null!;

    public AuthZenPdp Pdp { get; private set; } = null!;

    public BrokerTestHost Host { get; private set; } = null!;

    /// <summary>How many failures in a row open a decision point's circuit.</summary>
    protected virtual int FailuresToOpenCircuit => 1000;

    /// <summary>How many evaluations may be in flight to one decision point.</summary>
    protected virtual int MaxConcurrentRequests => 32;

    public static string Resource(string capability) => $"https://mcp.acme.test/{capability.Split('.')[0]}";

    public async ValueTask InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory.Path, "policy", "bundles"));
        Acme = new TestSpiffeAuthority("acme.test", Path.Combine(Directory.Path, "policy", "bundles", "acme.json"));
        Directory.Write("secrets/pdp-token", PdpToken + "\n");
        Directory.Write("secrets/other-token", "not-the-pdp-secret");
        Pdp = await AuthZenPdp.StartAsync(Path.Combine(Directory.Path, "pdp-rules.json"), PdpRules(), PdpToken);
        var downPort = FreePorts.Next();
        Directory.Write("policy/acme.yaml", Policy(Pdp.EvaluationEndpoint, downPort));
        Host = await BrokerTestHost.StartAsync(Path.Combine(Directory.Path, "policy"), s =>
        {
            s.Configure<AuthZenOptions>(o =>
            {
                o.AllowedHosts.Add(Pdp.EvaluationEndpoint.Authority);
                o.AllowedHosts.Add($"127.0.0.1:{downPort}");
                o.SecretsDirectory = Path.Combine(Directory.Path, "secrets");
                o.FailuresToOpenCircuit = FailuresToOpenCircuit;
                o.MaxConcurrentRequests = MaxConcurrentRequests;
                o.OpenCircuitFor = TimeSpan.FromMinutes(10);
            });
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Pdp is not null)
        {
            await Pdp.DisposeAsync();
        }

        Directory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>An exchange by the SVID of <paramref name="agent"/> (a path under acme.test) for <paramref name="scope"/>.</summary>
    public async Task<ExchangeResponse> ExchangeAsync(string agent, string scope, string taskId, string? actor = null)
    {
        var form = ExchangeFixture.Request(Acme.Svid(agent), scope, Resource(scope.Split(' ')[0]));
        form["task_id"] = taskId;
        if (actor is not null)
        {
            form["actor_token"] = Acme.Svid(actor["spiffe://acme.test".Length..]);
            form["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        }

        using var content = new FormUrlEncodedContent(form);
        using var response = await Host.Client.PostAsync("/oauth2/token", content);
        return await ExchangeResponse.ReadAsync(response);
    }

    /// <summary>The decision point's rules: first match decides, deny by default.</summary>
    public static JsonArray PdpRules()
    {
        var rules = new JsonArray
        {
            Rule("/agents/reader", "invoices.read", true),
            Rule("/agents/reader", "invoices.write", false),
            Rule("/agents/writer", "*", true),
            Rule("/agents/denied", "*", false),
            Rule("/agents/slow", "*", null, "hang"),
            Rule("*", "reports.read", true),
            Rule("*", "audit.read", true),
            Rule("*", "flaky.read", null, "status", extra: new JsonObject { ["status"] = 500, ["body"] = new JsonObject { ["decision"] = true } }),
            Rule("*", "hang.read", null, "hang"),
        };
        foreach (var (name, answer) in MalformedAnswers)
        {
            var rule = Rule("/agents/" + Slug(name), "*", null, (string)answer["respond"]!);
            foreach (var (key, value) in answer)
            {
                rule[key] = value?.DeepClone();
            }

            rules.Add(rule);
        }

        return rules;
    }

    /// <summary>Answers that are no decision (AuthZEN 1.0 §6.2 and the HTTPS binding), by the name the tests give them.</summary>
    public static IReadOnlyList<(string Name, JsonObject Answer)> MalformedAnswers { get; } =
    [
        ("decision a string", Raw("""{"decision":"true"}""")),
        ("decision a number", Raw("""{"decision":1}""")),
        ("decision null", Raw("""{"decision":null}""")),
        ("no decision", Raw("""{"context":{"reason_admin":{"en":"forgot"}}}""")),
        ("decision twice", Raw("""{"decision":false,"decision":true}""")),
        ("not JSON", Raw("permit")),
        ("a JSON array", Raw("[true]")),
        ("trailing data", Raw("""{"decision":true} {"decision":true}""")),
        ("truncated", Raw("""{"decision":tr""")),
        ("empty body", Raw("")),
        ("text/plain", Raw("""{"decision":true}""", "text/plain")),
        ("status 500 with a decision", new JsonObject { ["respond"] = "status", ["status"] = 500, ["body"] = new JsonObject { ["decision"] = true } }),
        ("status 403 with a decision", new JsonObject { ["respond"] = "status", ["status"] = 403, ["body"] = new JsonObject { ["decision"] = true } }),
        ("status 201 with a decision", new JsonObject { ["respond"] = "status", ["status"] = 201, ["body"] = new JsonObject { ["decision"] = true } }),
        ("status 400", new JsonObject { ["respond"] = "status", ["status"] = 400, ["body"] = new JsonObject { ["error"] = "bad" } }),
        ("larger than 64 KiB", new JsonObject { ["respond"] = "oversize", ["bytes"] = 70_000 }),
    ];

    /// <summary>The path segment of the agent whose evaluations get <paramref name="name"/>'s answer.</summary>
    public static string Slug(string name) => "malformed-" + string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'));

    private static JsonObject Raw(string body, string contentType = "application/json") =>
        new() { ["respond"] = "raw", ["body"] = body, ["content_type"] = contentType };

    private static JsonObject Rule(string subject, string resource, bool? decision, string respond = "decision", JsonObject? extra = null)
    {
        var rule = new JsonObject
        {
            ["subject"] = subject == "*" ? "*" : "spiffe://acme.test" + subject,
            ["action"] = "execute",
            ["resource"] = resource,
            ["respond"] = respond,
        };
        if (decision is { } d)
        {
            rule["decision"] = d;
        }

        foreach (var (key, value) in extra ?? [])
        {
            rule[key] = value?.DeepClone();
        }

        return rule;
    }

    private static string Policy(Uri pdp, int downPort) => $$"""
        tenant: {{Tenant}}
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_file: bundles/acme.json
        decision_points:
          - name: main
            url: {{pdp}}
            bearer_token_secret: pdp-token
            timeout: 10s
          - name: cached
            url: {{pdp}}
            bearer_token_secret: pdp-token
            timeout: 10s
            cache_ttl: 5m
          - name: down
            url: http://127.0.0.1:{{downPort}}/access/v1/evaluation
            timeout: 10s
          - name: wrong-credential
            url: {{pdp}}
            bearer_token_secret: other-token
            timeout: 10s
          - name: no-secret
            url: {{pdp}}
            bearer_token_secret: missing-token
          - name: flaky
            url: {{pdp}}
            bearer_token_secret: pdp-token
            timeout: 10s
          - name: hang
            url: {{pdp}}
            bearer_token_secret: pdp-token
            timeout: 10s
        capabilities:
          - { name: invoices.read, resource: "{{Resource("invoices")}}", tools: [list_invoices, get_invoice] }
          - { name: invoices.write, resource: "{{Resource("invoices")}}", tools: [create_invoice] }
          - { name: reports.read, resource: "{{Resource("reports")}}" }
          - { name: vault.read, resource: "{{Resource("vault")}}" }
          - { name: audit.read, resource: "{{Resource("audit")}}" }
          - { name: secrets.read, resource: "{{Resource("secrets")}}" }
          - { name: flaky.read, resource: "{{Resource("flaky")}}" }
          - { name: hang.read, resource: "{{Resource("hang")}}" }
          - { name: crm.read, resource: "{{Resource("crm")}}" }
        rules:
          - name: agents read and write invoices when the decision point agrees
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read, invoices.write]
            permissions: [discover, execute]
            decision_point: main
          - name: the writer writes through the orchestrator when the decision point agrees
            subjects: ["spiffe://acme.test/agents/writer"]
            capabilities: [invoices.write]
            permissions: [execute]
            delegation: { actors: ["{{Orchestrator}}"], max_depth: 1 }
            decision_point: main
          - name: the auditor reads invoices on local policy alone
            subjects: ["spiffe://acme.test/agents/auditor"]
            capabilities: [invoices.read]
            permissions: [execute]
          - { name: reports, subjects: ["spiffe://acme.test/agents/*"], capabilities: [reports.read], permissions: [execute], decision_point: cached }
          - { name: vault, subjects: ["spiffe://acme.test/agents/*"], capabilities: [vault.read], permissions: [execute], decision_point: down }
          - { name: audit, subjects: ["spiffe://acme.test/agents/*"], capabilities: [audit.read], permissions: [execute], decision_point: wrong-credential }
          - { name: secrets, subjects: ["spiffe://acme.test/agents/*"], capabilities: [secrets.read], permissions: [execute], decision_point: no-secret }
          - { name: flaky, subjects: ["spiffe://acme.test/agents/*"], capabilities: [flaky.read], permissions: [execute], decision_point: flaky }
          - { name: hang, subjects: ["spiffe://acme.test/agents/*"], capabilities: [hang.read], permissions: [execute], decision_point: hang }
          - { name: crm, subjects: ["spiffe://acme.test/agents/*"], capabilities: [crm.read], permissions: [execute] }
        """;
}

/// <summary>The same broker and decision point, with small bounds: a circuit that opens after 3 failures, 2 calls in flight.</summary>
public sealed class AuthZenBoundsFixture : AuthZenFixture
{
    protected override int FailuresToOpenCircuit => 3;

    protected override int MaxConcurrentRequests => 2;
}
