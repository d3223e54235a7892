// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Mcp;

/// <summary>
/// This MCP server and the broker's capability catalog (docs/catalog.md): publishing its tools at start, and asking
/// what each caller may discover so that <c>tools/list</c> follows the tenant's discovery rule. Opt-in, with
/// <c>AddMcpServer().AddBrokerCapabilities().PublishToBrokerCatalog(o =&gt; …)</c>.
/// </summary>
public sealed class BrokerMcpCatalogOptions
{
    /// <summary>The broker-token scheme whose broker and <c>Resource</c> (the URI published under) are used. Default <c>BrokerToken</c>.</summary>
    public string Scheme { get; set; } = BrokerTokenDefaults.AuthenticationScheme;

    /// <summary>
    /// This server's own workload credential (a JWT-SVID or OIDC token for the broker's audience), asked for anew for
    /// each call to the catalog. Required. The broker's policy must give this identity <c>publish</c> on the
    /// capabilities of the server's tools.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? Credential { get; set; }

    /// <summary>Publish every tool under each capability it requires when the server starts (retried with backoff until the broker answers). Default true.</summary>
    public bool PublishAtStart { get; set; } = true;

    /// <summary>
    /// Ask the broker, for each caller, which capabilities of this resource it may discover, and list <c>tools/list</c>
    /// by the tenant's rule: a tool the caller may discover but whose capabilities its token lacks is listed marked not
    /// executable (<c>_meta["io.broker/access"]</c>), or hidden when the tenant says <c>discovery: hide</c>; a tool it
    /// may not discover is hidden. Default false: <c>tools/list</c> shows what the token covers.
    /// </summary>
    public bool ListDiscoverableTools { get; set; }

    /// <summary>How long a caller's answer is reused (never beyond its token's expiry). Default 30 seconds.</summary>
    public TimeSpan LookupCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Callers' answers kept at once; past it the oldest go. Default 10,000.</summary>
    public int MaxCachedLookups { get; set; } = 10_000;

    /// <summary>How long one call to the catalog may take. Default 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait between publishing attempts. Default 1 minute.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);
}
