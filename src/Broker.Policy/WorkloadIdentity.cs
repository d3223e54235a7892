namespace Broker.Policy;

/// <summary>Where a validated identity came from.</summary>
public enum IdentityKind
{
    /// <summary>A SPIFFE JWT-SVID, trusted through its trust domain's bundle.</summary>
    SpiffeJwt = 0,

    /// <summary>An OIDC workload token, trusted through its issuer's discovery document and JWKS.</summary>
    Oidc = 1,

    /// <summary>A capability token this broker issued (re-exchange or delegation).</summary>
    Broker = 2,

    /// <summary>An X509-SVID presented as the TLS client certificate (RFC 8705 mutual TLS).</summary>
    SpiffeX509 = 3,
}

/// <summary>
/// A validated caller, the evaluator's input: the workload identity policy matches on, the source that vouched
/// for it, the claims its conditions read, and, for the broker's own tokens, the grant it carries. The broker's
/// subject validators produce it; policy never sees the token itself.
/// </summary>
public sealed record WorkloadIdentity
{
    /// <summary>The workload identity: a SPIFFE ID, or the mapped OIDC subject.</summary>
    public required string Id { get; init; }

    /// <summary>How the identity was validated.</summary>
    public required IdentityKind Kind { get; init; }

    /// <summary>The trust domain name or issuer URL the identity was validated against.</summary>
    public required string Source { get; init; }

    /// <summary>Scalar claims of the presented token, flattened by path (<c>kubernetes.io/namespace</c>).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Claims { get; init; }

    /// <summary>When the presented token expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The <c>kid</c> that signed the presented token, so a cached result can be dropped with its key.</summary>
    public required string KeyId { get; init; }

    /// <summary>
    /// The RFC 7638 thumbprint of the key that verified the presented token (SPIFFE and OIDC), so a cached result is
    /// dropped when that key leaves its bundle or JWKS or is replaced under the same <c>kid</c>; null otherwise.
    /// </summary>
    public string? KeyThumbprint { get; init; }

    /// <summary>Set when the token is one this broker issued.</summary>
    public BrokerGrantContext? Grant { get; init; }

    /// <summary>
    /// RFC 8705 <c>x5t#S256</c> of the TLS client certificate this identity was proven with, or that
    /// a broker-issued subject token is bound to; the minted token is bound to it too.
    /// </summary>
    public string? CertificateThumbprint { get; init; }

    /// <summary>
    /// RFC 9449 <c>jkt</c> of the DPoP key this request proved possession of, which a broker-issued subject token is
    /// bound to when it is; the minted token is bound to it too. At most one of this and
    /// <see cref="CertificateThumbprint"/> is set.
    /// </summary>
    public string? ProofKeyThumbprint { get; init; }

    /// <summary>True when the minted token will be sender-constrained (<c>cnf</c>): by certificate or by DPoP key.</summary>
    public bool IsSenderConstrained => CertificateThumbprint is not null || ProofKeyThumbprint is not null;
}

/// <summary>What a broker-issued subject token already carries; a re-exchange can only narrow it.</summary>
/// <param name="GrantId">The token's grant (its <c>jti</c>).</param>
/// <param name="Tenant">The tenant the grant belongs to.</param>
/// <param name="Scope">The capabilities the token carries.</param>
/// <param name="Audience">The token's audience.</param>
/// <param name="ActorChain">The delegation chain, most recent actor first.</param>
/// <param name="TaskId">The task the token is for.</param>
/// <param name="Purpose">The task's purpose.</param>
/// <param name="CertificateThumbprint">The <c>x5t#S256</c> the token is bound to, if any.</param>
/// <param name="JwkThumbprint">The <c>jkt</c> (RFC 9449) of the DPoP key the token is bound to, if any.</param>
public sealed record BrokerGrantContext(
    string GrantId,
    string Tenant,
    IReadOnlyList<string> Scope,
    string Audience,
    IReadOnlyList<string> ActorChain,
    string TaskId,
    string Purpose,
    string? CertificateThumbprint = null,
    string? JwkThumbprint = null)
{
    /// <summary>
    /// The kinds of the token's chain (its <c>caller</c> claim), subject first; null when the token carries none (it was
    /// minted before the claim existed): every identity in it is then taken for a workload.
    /// </summary>
    public CallerKinds? Caller { get; init; }

    /// <summary>
    /// For a grant of a capability shared across tenants: the consuming tenant, the subject's own (<see cref="Tenant"/>
    /// is the owner's); null otherwise. A re-exchange is decided in the consumer tenant, as the first exchange was.
    /// </summary>
    public string? ConsumerTenant { get; init; }
}
