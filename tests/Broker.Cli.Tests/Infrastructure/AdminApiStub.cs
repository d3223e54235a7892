using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Cli.Tests.Infrastructure;

/// <summary>
/// The admin API of docs/admin.md on real Kestrel (loopback, free port), with fixed data: routes,
/// query and body checks, bearer authentication, tenant authorisation and error bodies as documented.
/// </summary>
internal sealed class AdminApiStub : IAsyncDisposable
{
    /// <summary>A global admin: every tenant, and the audit trail of all tenants.</summary>
    public const string GlobalToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJnbG9iYWwifQ.c2lnbmF0dXJlLWdsb2JhbA";

    /// <summary>An admin of tenant acme only.</summary>
    public const string AcmeToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJlLWFjbWU";

    /// <summary>A grant id whose lookup fails with an error_description that quotes the caller's token.</summary>
    public const string EchoTokenGrantId = "echo-token";

    public const string LongSubject = "spiffe://acme.example/agents/batch/reconciliation/nightly/eu-west-1/worker-0042";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<JsonObject> _grants;
    private readonly List<JsonObject> _events = [];
    private readonly List<string> _requests = [];

    private AdminApiStub(WebApplication app, List<JsonObject> grants)
    {
        _app = app;
        _grants = grants;
    }

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Answer 503 temporarily_unavailable to everything, as when the grant store is down.</summary>
    public bool Unavailable { get; set; }

    /// <summary>Method, path and query of every request received.</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<AdminApiStub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var stub = new AdminApiStub(app, SeedGrants());
        stub.Map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.BaseUri = new Uri(address);
        return stub;
    }

    public static JsonObject Grant(string id, string tenant, string subject, string? task, string expiresAt, params string[] capabilities) => new()
    {
        ["grant_id"] = id,
        ["tenant"] = tenant,
        ["subject"] = subject,
        ["client_id"] = subject,
        ["actor_chain"] = new JsonArray(),
        ["capabilities"] = new JsonArray([.. capabilities.Select(c => JsonValue.Create(c))]),
        ["audience"] = "https://mcp.acme.example/invoices",
        ["task_id"] = task,
        ["purpose"] = "billing",
        ["issued_at"] = "2026-11-24T10:03:24+00:00",
        ["expires_at"] = expiresAt,
        ["policy_version"] = "sha256:0123456789abcdef01234567",
        ["parent_grant_id"] = null,
        ["binding"] = null,
        ["status"] = "active",
        ["revocation"] = null,
    };

    /// <summary>Appends an audit event (newest); the API answers newest first.</summary>
    public void AddEvent(string type, string time, string tenant, string? subject = null, string? grantId = null, string outcome = "Allowed", string? error = null) =>
        AddEvents(Event(type, time, tenant, subject, grantId, outcome, error));

    /// <summary>Appends several events at once: no request sees only some of them.</summary>
    public void AddEvents(params JsonObject[] events)
    {
        lock (_lock)
        {
            _events.AddRange(events);
        }
    }

    public static JsonObject Event(string type, string time, string tenant, string? subject = null, string? grantId = null, string outcome = "Allowed", string? error = null) => new()
    {
        ["type"] = type,
        ["time"] = time,
        ["outcome"] = outcome,
        ["error"] = error,
        ["tenant"] = tenant,
        ["subject"] = subject,
        ["grant_id"] = grantId,
        ["actor_chain"] = new JsonArray(),
    };

    public JsonObject? FindGrant(string id)
    {
        lock (_lock)
        {
            return _grants.FirstOrDefault(g => (string?)g["grant_id"] == id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static List<JsonObject> SeedGrants() =>
    [
        Grant("tujWc8y-DuYgN79FvtyU1w", "acme", "spiffe://acme.example/agents/reader", "task-42", "2026-11-24T10:08:24+00:00", "invoices.read"),
        Grant("Qm9vdHN0cmFwR3JhbnQwMg", "acme", "spiffe://acme.example/agents/reader", "task-42", "2026-11-24T10:09:00+00:00", "invoices.read"),
        Grant("V3JpdGVyR3JhbnQwMDAwMw", "acme", "spiffe://acme.example/agents/writer", "task-7", "2026-11-24T11:10:00+01:00", "invoices.read", "invoices.write"),
        Grant("TG9uZ1N1YmplY3RHcmFudA", "acme", LongSubject, null, "2026-11-24T10:05:00+00:00", "invoices.read"),
        Grant("R2xvYmV4R3JhbnQwMDAwNQ", "globex", "spiffe://globex.example/agents/a", "task-1", "2026-11-24T10:07:00+00:00", "orders.read"),
    ];

    private static IResult Error(int status, string error, string description, HttpContext context)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        }

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "5";
        }

        return Results.Json(new JsonObject { ["error"] = error, ["error_description"] = description }, statusCode: status);
    }

    private static bool IsPrintable(string? value, int max) =>
        !string.IsNullOrEmpty(value) && value.Length <= max && !value.Any(char.IsControl);

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            lock (_lock)
            {
                _requests.Add($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
            }

            await next(context);
        });
        var group = app.MapGroup("/admin/v1");

        // GET /admin/v1/grants/{grant_id}
        group.MapGet("/grants/{grantId}", (string grantId, HttpContext context) =>
        {
            if (Check(context, null) is { } denied)
            {
                return denied;
            }

            if (grantId == EchoTokenGrantId)
            {
                // A careless server: the CLI must still never print the token.
                return Error(400, "invalid_request", $"cannot use {context.Request.Headers.Authorization}", context);
            }

            var grant = FindGrant(grantId);
            if (grant is null)
            {
                return Error(404, "not_found", "the grant is unknown or has left the store", context);
            }

            return Check(context, (string)grant["tenant"]!) ?? Results.Json(grant);
        });

        // GET /admin/v1/grants?tenant=…[&subject=…|&task_id=…][&limit=…][&cursor=…]
        group.MapGet("/grants", (HttpContext context) =>
        {
            var query = context.Request.Query;
            string? tenant = query["tenant"];
            string? subject = query["subject"];
            string? task = query["task_id"];
            if (string.IsNullOrEmpty(tenant))
            {
                return Check(context, null) ?? Error(400, "invalid_request", "tenant is required", context);
            }

            if (Check(context, tenant) is { } denied)
            {
                return denied;
            }

            if (subject is not null && task is not null)
            {
                return Error(400, "invalid_request", "subject and task_id cannot be combined", context);
            }

            var limit = 100;
            if (query.ContainsKey("limit") && (!int.TryParse(query["limit"], CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
            {
                return Error(400, "invalid_request", "limit must be 1-1000", context);
            }

            var offset = 0;
            if (query.ContainsKey("cursor") && !int.TryParse(query["cursor"], CultureInfo.InvariantCulture, out offset))
            {
                return Error(400, "invalid_request", "the cursor is not valid", context);
            }

            List<JsonObject> matching;
            lock (_lock)
            {
                matching = [.. _grants
                    .Where(g => (string?)g["tenant"] == tenant)
                    .Where(g => subject is null || (string?)g["subject"] == subject)
                    .Where(g => task is null || (string?)g["task_id"] == task)
                    .OrderByDescending(g => DateTimeOffset.Parse((string)g["expires_at"]!, CultureInfo.InvariantCulture))
                    .Select(g => g.DeepClone().AsObject())];
            }

            var page = matching.Skip(offset).Take(limit).ToList();
            var next = offset + limit < matching.Count ? (offset + limit).ToString(CultureInfo.InvariantCulture) : null;
            return Results.Json(new JsonObject { ["grants"] = new JsonArray([.. page]), ["next_cursor"] = next });
        });

        // POST /admin/v1/grants/revoke — bulk
        group.MapPost("/grants/revoke", async (HttpContext context) =>
        {
            var body = await ReadBodyAsync(context);
            var tenant = (string?)body?["tenant"];
            var subject = (string?)body?["subject"];
            var task = (string?)body?["task_id"];
            var reason = (string?)body?["reason"];
            if (Check(context, string.IsNullOrEmpty(tenant) ? null : tenant) is { } denied)
            {
                return denied;
            }

            if (string.IsNullOrEmpty(tenant) || (subject is not null && task is not null) || !IsPrintable(reason, 256))
            {
                return Error(400, "invalid_request", "tenant and a reason of 1-256 printable characters are required; subject and task_id cannot be combined", context);
            }

            var revoked = 0;
            lock (_lock)
            {
                foreach (var grant in _grants.Where(g => (string?)g["tenant"] == tenant && (string?)g["status"] == "active"
                    && (subject is null || (string?)g["subject"] == subject) && (task is null || (string?)g["task_id"] == task)))
                {
                    Revoke(grant, reason!);
                    revoked++;
                }
            }

            return Results.Json(new JsonObject { ["revoked"] = revoked });
        });

        // POST /admin/v1/grants/{grant_id}/revoke
        group.MapPost("/grants/{grantId}/revoke", async (string grantId, HttpContext context) =>
        {
            var body = await ReadBodyAsync(context);
            var reason = (string?)body?["reason"];
            if (Check(context, null) is { } unauthenticated)
            {
                return unauthenticated;
            }

            if (!IsPrintable(reason, 256))
            {
                return Error(400, "invalid_request", "reason must be 1-256 printable characters", context);
            }

            var grant = FindGrant(grantId);
            if (grant is null)
            {
                return Error(404, "not_found", "the grant is unknown or has expired", context);
            }

            if (Check(context, (string)grant["tenant"]!) is { } denied)
            {
                return denied;
            }

            lock (_lock)
            {
                var result = (string?)grant["status"] == "revoked" ? "already_revoked" : "revoked";
                if (result == "revoked")
                {
                    Revoke(grant, reason!);
                }

                return Results.Json(new JsonObject
                {
                    ["grant_id"] = grantId,
                    ["result"] = result,
                    ["revoked_at"] = (string?)grant["revocation"]!["revoked_at"],
                });
            }
        });

        // GET /admin/v1/audit[?tenant=…][&limit=…]
        group.MapGet("/audit", (HttpContext context) =>
        {
            string? tenant = context.Request.Query["tenant"];
            if (Check(context, string.IsNullOrEmpty(tenant) ? "*" : tenant) is { } denied)
            {
                return denied;
            }

            var limit = 100;
            if (context.Request.Query.ContainsKey("limit") && (!int.TryParse(context.Request.Query["limit"], CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
            {
                return Error(400, "invalid_request", "limit must be 1-1000", context);
            }

            lock (_lock)
            {
                var events = _events.Where(e => string.IsNullOrEmpty(tenant) || (string?)e["tenant"] == tenant)
                    .Reverse().Take(limit).Select(e => e.DeepClone()).ToArray();
                return Results.Json(new JsonObject { ["events"] = new JsonArray(events) });
            }
        });
    }

    private static void Revoke(JsonObject grant, string reason)
    {
        grant["status"] = "revoked";
        grant["revocation"] = new JsonObject
        {
            ["revoked_at"] = "2026-11-24T10:04:00+00:00",
            ["revoked_by"] = "spiffe://acme.example/admins/alice",
            ["reason"] = reason,
        };
    }

    private static async Task<JsonObject?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<JsonObject>(context.Request.Body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// 503 while unavailable; 401 without a known bearer token; 403 when the token's admin may not act
    /// on <paramref name="tenant"/> (<c>*</c>: all tenants; null: authentication only).
    /// </summary>
    private IResult? Check(HttpContext context, string? tenant)
    {
        if (Unavailable)
        {
            return Error(503, "temporarily_unavailable", "the grant store is unreachable", context);
        }

        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
        if (token is not (GlobalToken or AcmeToken))
        {
            return Error(401, "invalid_token", "the token is missing, expired or not for this broker", context);
        }

        if (token == AcmeToken && tenant is not null && tenant != "acme")
        {
            return Error(403, "insufficient_scope", $"not an admin of tenant '{tenant}'", context);
        }

        return null;
    }
}
