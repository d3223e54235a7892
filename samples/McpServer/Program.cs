// samples/McpServer — an MCP server whose tools need broker capabilities.

using McpServer;
using ModelContextProtocol.AspNetCore;

var builder = WebApplication.CreateBuilder(args);

// Broker tokens: broker URL, this server's resource URI and its tenant come from configuration
// (appsettings*.json, environment variables such as Broker__Broker, or --Broker:Tenant=... on the command line).
// DPoP-bound tokens (RFC 9449) are honoured with their proofs, bearer ones too; Broker:DPoP:RequireBoundTokens=true
// refuses every token that is not bound to the caller's key, and Broker:DPoP:PublicOrigin names the origin proofs
// must name when this server sits behind a proxy.
builder.Services.AddAuthentication().AddBrokerTokens(o => builder.Configuration.GetSection("Broker").Bind(o));
builder.Services.AddAuthorization();
builder.Services.AddSingleton<FileStore>();

// Revocations reach this server within a second over the broker's revocation feed, which it follows with its own
// workload credential (the RevocationFeed section); /healthz is healthy once the feed is connected.
var health = builder.Services.AddHealthChecks();
var credential = RevocationFeedCredential.Create(builder.Configuration);
if (credential is not null)
{
    builder.Services.AddBrokerRevocationFeed(o => o.Credential = credential);
    health.AddBrokerRevocationFeedHealthCheck();
}

var mcp = builder.Services.AddMcpServer()
    .WithHttpTransport(o => o.SessionMode = HttpServerSessionMode.Stateless)
    .AddBrokerCapabilities()
    .WithTools<FileTools>();

// With Catalog:Publish, the server publishes its tools to the broker's capability catalog at start (docs/catalog.md),
// with the same workload credential; with Catalog:ListDiscoverableTools, tools/list also shows each caller the tools it
// may discover but its token does not cover, marked as such (the tenant's discovery setting decides).
if (credential is not null && builder.Configuration.GetValue<bool>("Catalog:Publish"))
{
    mcp.PublishToBrokerCatalog(o =>
    {
        o.Credential = credential;
        o.ListDiscoverableTools = builder.Configuration.GetValue<bool>("Catalog:ListDiscoverableTools");
    });
}

var app = builder.Build();
app.MapBrokerResourceMetadata();                    // RFC 9728 at /.well-known/oauth-protected-resource[/mcp]
app.MapMcp("/mcp").RequireBrokerCapabilities();     // 401 / 403 challenges, header checks, no token passthrough
app.MapHealthChecks("/healthz");
await app.RunAsync();
