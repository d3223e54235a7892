namespace Broker.Tokens;

/// <summary>Everything that goes into one capability token.</summary>
internal sealed record CapabilityTokenRequest(
    string GrantId,
    string Subject,
    string ClientId,
    string Audience,
    IReadOnlyList<string> Capabilities,
    string Tenant,
    string TaskId,
    string Purpose,
    IReadOnlyList<string> ActorChain,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string? X509Thumbprint = null,
    StatusListReference? Status = null,
    string? JwkThumbprint = null)
{
    /// <summary>The kinds of the chain that caused the request (the <c>caller</c> claim); a workload for itself by default.</summary>
    public Broker.Policy.CallerKinds Caller { get; init; } = Broker.Policy.CallerKinds.Workload;

    /// <summary>The consuming tenant of a shared capability (the <c>consumer_tenant</c> claim); null for none.</summary>
    public string? ConsumerTenant { get; init; }
}

/// <summary>
/// Where a token's status is published (draft-ietf-oauth-status-list §6.2): its index in the list at
/// <paramref name="Uri"/>, which is also that list token's <c>sub</c>.
/// </summary>
internal sealed record StatusListReference(int Index, string Uri);
