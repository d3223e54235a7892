namespace Broker.Subjects;

/// <summary>Validation of subject and actor tokens, bound from <c>Broker:Subjects</c>.</summary>
internal sealed class SubjectsOptions
{
    /// <summary>
    /// Audiences a presented token may name to be accepted by this broker (its <c>aud</c> must
    /// contain one). Default: the broker's issuer URL and its token endpoint URL (RFC 7523 §3 lets an assertion
    /// name either; the MCP Workload Identity Federation extension names the token endpoint). An OIDC trust entry
    /// may set its own.
    /// </summary>
    public IList<string> Audiences { get; } = [];

    /// <summary><see cref="Audiences"/>, or when none is configured the defaults it describes for <paramref name="issuer"/>.</summary>
    internal string[] AcceptedAudiences(string issuer) =>
        Audiences.Count > 0 ? [.. Audiences] : [issuer, issuer.TrimEnd('/') + OAuth.OAuthRoutes.TokenPath];

    /// <summary>Longest subject or actor token accepted, in characters. Default 8192.</summary>
    public int MaxTokenLength { get; set; } = 8192;

    /// <summary>Tolerated clock difference for <c>exp</c>, <c>nbf</c> and <c>iat</c>. Default 30 s; at most 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Shortest time between two fetches of an issuer's keys triggered by an unknown <c>kid</c>, so a
    /// stream of forged kids cannot make the broker hammer an issuer. Default 5 minutes.
    /// </summary>
    public TimeSpan MinimumKeyRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long an issuer's keys are used before they are fetched again; so also the longest a key the issuer
    /// removed (or replaced under the same <c>kid</c>) keeps validating cached tokens. Default 1 hour; 1 s to 24 h.
    /// </summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Timeout of one fetch from an issuer or bundle endpoint. Default 10 s.</summary>
    public TimeSpan FetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Cache of already validated tokens (see <see cref="ValidationCacheOptions"/>).</summary>
    public ValidationCacheOptions ValidationCache { get; } = new();
}

/// <summary>
/// Agents present the same token many times (SPIRE hands out one JWT-SVID until half its lifetime),
/// so a validated token's identity is kept, keyed by the token's SHA-256, never past the token's
/// <c>exp</c>, and dropped as soon as its signing key or identity source leaves the trusted set.
/// Policy is still evaluated on every request.
/// </summary>
internal sealed class ValidationCacheOptions
{
    /// <summary>On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Most tokens kept. Default 10,000 (about 1 KiB each).</summary>
    public int MaxEntries { get; set; } = 10_000;
}
