// Broker.Validation — resource servers honour broker tokens.

using System.Collections.Frozen;

namespace Broker.Validation;

/// <summary>
/// Who is calling, as the broker vouched for it in a validated capability token: the grant, the workload, the
/// delegation chain, the tenant, the task and its purpose, and the capabilities granted. It carries no token:
/// a resource server that calls something upstream gets its own token for that (no token passthrough).
/// </summary>
public sealed class BrokerCaller
{
    internal BrokerCaller(
        string grantId,
        string subject,
        string clientId,
        string tenant,
        string taskId,
        string purpose,
        IReadOnlyList<string> actorChain,
        IReadOnlyCollection<string> capabilities,
        DateTimeOffset expiresAt,
        string? certificateThumbprint,
        string? keyThumbprint = null,
        BrokerCallerContext? context = null)
    {
        GrantId = grantId;
        Subject = subject;
        ClientId = clientId;
        Tenant = tenant;
        TaskId = taskId;
        Purpose = purpose;
        ActorChain = actorChain;
        Capabilities = capabilities.ToFrozenSet(StringComparer.Ordinal);
        ExpiresAt = expiresAt;
        CertificateThumbprint = certificateThumbprint;
        KeyThumbprint = keyThumbprint;
        Context = context ?? BrokerCallerContext.From(null, subject, actorChain)!;
    }

    /// <summary>The grant ID (the token's <c>jti</c>): what an admin revokes, and what audit lines join on.</summary>
    public string GrantId { get; }

    /// <summary>The workload the token was issued to (<c>sub</c>), e.g. a SPIFFE ID.</summary>
    public string Subject { get; }

    /// <summary>The token's <c>client_id</c>.</summary>
    public string ClientId { get; }

    /// <summary>The tenant (<c>tenant</c>); always the tenant this server is configured for.</summary>
    public string Tenant { get; }

    /// <summary>
    /// For a capability another tenant uses through sharing (<c>consumer_tenant</c>, docs/sharing.md): the caller's own
    /// tenant, while <see cref="Tenant"/> is this server's, the owner's. Null for a caller of this server's tenant.
    /// </summary>
    public string? ConsumerTenant { get; internal init; }

    /// <summary>The task the token was issued for (<c>task_id</c>).</summary>
    public string TaskId { get; }

    /// <summary>Why the task runs (<c>purpose</c>).</summary>
    public string Purpose { get; }

    /// <summary>
    /// The delegation chain (RFC 8693 §4.1 <c>act</c>): the party acting for <see cref="Subject"/> first, then whoever
    /// acted for it, outermost first. Empty when the subject calls for itself. Only the first entry is the current
    /// actor; earlier ones are informational (RFC 8693 §4.1).
    /// </summary>
    public IReadOnlyList<string> ActorChain { get; }

    /// <summary>The granted capabilities (the token's <c>scope</c>).</summary>
    public IReadOnlySet<string> Capabilities { get; }

    /// <summary>When the token expires (<c>exp</c>).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>
    /// The RFC 8705 <c>x5t#S256</c> the token is bound to, already checked against this connection's client
    /// certificate; null for a bearer token.
    /// </summary>
    public string? CertificateThumbprint { get; }

    /// <summary>
    /// The RFC 9449 <c>cnf.jkt</c> the token is bound to (the RFC 7638 thumbprint of the caller's DPoP key), already
    /// checked against this request's proof; null for a token that is not DPoP-bound.
    /// </summary>
    public string? KeyThumbprint { get; }

    /// <summary>
    /// The context that caused the call (the token's <c>caller</c> claim): the user, agent or service behind it, and
    /// whether it is autonomous. Its <see cref="BrokerCallerContext.ToString"/> is the tag of an audit line.
    /// </summary>
    public BrokerCallerContext Context { get; }

    /// <summary>True when the token grants <paramref name="capability"/>.</summary>
    public bool HasCapability(string capability) => Capabilities.Contains(capability);

    /// <summary>The grant, subject and tenant; never token material.</summary>
    public override string ToString() => ConsumerTenant is null
        ? $"grant {GrantId} ({Subject}, tenant {Tenant}, task {TaskId})"
        : $"grant {GrantId} ({Subject}, tenant {Tenant} shared with {ConsumerTenant}, task {TaskId})";
}
