// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation;

/// <summary>
/// How a resource server validates the broker's capability tokens. One instance per authentication scheme,
/// validated when the host starts (<see cref="Internal.BrokerTokenOptionsValidator"/>).
/// </summary>
public sealed class BrokerTokenOptions
{
    /// <summary>
    /// The broker's issuer identifier, e.g. <c>https://broker.example.org</c>: the only URL this library fetches
    /// from (RFC 8414 metadata, then the JWKS it names, which must be on the same origin). Every token's
    /// <c>iss</c> must equal it. https, unless <see cref="AllowInsecureLoopbackBroker"/> and a loopback host. Required.
    /// </summary>
    public Uri? Broker { get; set; }

    /// <summary>
    /// This server's canonical resource URI (RFC 8707 §2, MCP "canonical server URI"), e.g.
    /// <c>https://mcp.example.org/mcp</c>: every token's <c>aud</c> must equal it, and it is the <c>resource</c> of the
    /// protected resource metadata. https, no fragment. Required.
    /// </summary>
    public string? Resource { get; set; }

    /// <summary>The tenant this server serves: every token's <c>tenant</c> claim must equal it. Required.</summary>
    public string? Tenant { get; set; }

    /// <summary>
    /// Allow an <c>http</c> broker URL on a loopback host (the <c>--dev</c> broker). Off by default: the JWKS is what
    /// every token is trusted through, so it must not travel in clear.
    /// </summary>
    public bool AllowInsecureLoopbackBroker { get; set; }

    /// <summary>Tolerated clock difference for <c>exp</c> and <c>nbf</c>. Default 30 seconds, at most 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// At most one metadata and JWKS refetch per interval when a token names an unknown <c>kid</c> (a key the broker
    /// published after our last fetch). Default 5 minutes, at least 1 second. Unknown keys within the interval are
    /// refused without a fetch, so forged <c>kid</c>s cannot make this server hammer the broker.
    /// </summary>
    public TimeSpan MinimumKeyRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the metadata and JWKS are refreshed regardless of <c>kid</c>s. Default 1 hour, at least 1 minute.</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Bound on each metadata or JWKS fetch. Default 10 seconds.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest token accepted, in characters; longer ones are refused before parsing. Default 8192.</summary>
    public int MaxTokenLength { get; set; } = 8192;

    /// <summary>
    /// <c>scopes_supported</c> of the protected resource metadata (RFC 9728 §2): the capabilities a client should ask
    /// for first. Empty by default; the MCP integration fills it with the capabilities its tools declare.
    /// </summary>
    public IList<string> ScopesSupported { get; } = [];

    /// <summary>
    /// The absolute URL of this resource's protected resource metadata, named in every challenge
    /// (<c>resource_metadata</c>). Default: <see cref="Resource"/> with <c>/.well-known/oauth-protected-resource</c>
    /// inserted before its path (RFC 9728 §3.1), e.g. <c>https://mcp.example.org/.well-known/oauth-protected-resource/mcp</c>.
    /// It is never derived from the request's Host header.
    /// </summary>
    public Uri? ResourceMetadataUri { get; set; }

    /// <summary>Optional <c>resource_name</c> of the protected resource metadata (RFC 9728 §2).</summary>
    public string? ResourceName { get; set; }

    /// <summary>What to do when the revocation source cannot vouch for a token. See <see cref="RevocationPolicy"/>.</summary>
    public RevocationPolicy Revocation { get; } = new();

    /// <summary>How DPoP-bound tokens and their proofs are checked (RFC 9449). See <see cref="DPoPPolicy"/>.</summary>
    public DPoPPolicy DPoP { get; } = new();
}

/// <summary>How the revocation check (<see cref="Revocation.IRevocationCheck"/>) is applied to every validated token.</summary>
public sealed class RevocationPolicy
{
    /// <summary>
    /// How old the revocation source's knowledge may be before tokens are no longer trusted (the feed missed its
    /// heartbeats, or has not synchronised yet). Null (the default): no staleness limit, for deployments without a
    /// revocation feed. At least 1 second when set.
    /// </summary>
    public TimeSpan? MaxStaleness { get; set; }

    /// <summary>
    /// Accept tokens while the revocation source is stale (logged at Warning on each such token). Off by default:
    /// a stale source fails closed, and every request is answered 401 until it catches up.
    /// </summary>
    public bool AllowWhenStale { get; set; }
}
