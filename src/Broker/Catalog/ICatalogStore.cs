using Broker.Audit;
using Broker.Grants;

namespace Broker.Catalog;

/// <summary>
/// The capability catalog: per tenant and resource (an MCP server's RFC 8707 URI), the tools its server published,
/// under which capability each one is, who published them and when, at a version that only grows. Policy says who
/// may publish, discover and execute; the catalog records what actually exists.
/// </summary>
/// <remarks>
/// One entry per (tenant, resource), so everything a future view needs is a read of entries: the publishers and tools
/// of a capability (<see cref="CatalogEntry.Current"/>'s <see cref="Publication.PublishedBy"/> and
/// <see cref="Publication.Tools"/> of the entries whose tools name it), and what an owning tenant shares with another
/// (the owner's entries, filtered by the owner's policy). Writes are compare-and-set on the version, and each one
/// appends its audit event, and the withdrawals it causes to the tenant's revocation stream, in the same atomic step
/// (<see cref="IGrantStore"/>'s streams). Every member completes or throws <see cref="GrantStoreUnavailableException"/>
/// within the store's timeout; callers fail closed on it.
/// </remarks>
internal interface ICatalogStore
{
    /// <summary>The entry of <paramref name="resource"/> in <paramref name="tenant"/>; null when nothing was ever published there.</summary>
    ValueTask<CatalogEntry?> GetAsync(string tenant, string resource, CancellationToken cancellationToken);

    /// <summary>Every current publication of <paramref name="tenant"/>, by resource (ordinal order).</summary>
    ValueTask<IReadOnlyList<Publication>> ListAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="publication"/> (its <see cref="Publication.Version"/> must be
    /// <paramref name="expectedVersion"/> + 1) if the entry is still at <paramref name="expectedVersion"/> (0: never
    /// published), with <paramref name="audit"/> and <paramref name="withdrawals"/>, in one step.
    /// </summary>
    /// <returns><see cref="CatalogWriteResult.Written"/>, or <see cref="CatalogWriteResult.VersionMismatch"/> with nothing written.</returns>
    ValueTask<CatalogWriteResult> PublishAsync(Publication publication, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the current publication of <paramref name="resource"/> if the entry is still at
    /// <paramref name="expectedVersion"/>; the entry keeps its version (+1), so a later publication continues from it.
    /// </summary>
    /// <returns><see cref="CatalogWriteResult.Written"/>, or <see cref="CatalogWriteResult.VersionMismatch"/> with nothing written.</returns>
    ValueTask<CatalogWriteResult> UnpublishAsync(string tenant, string resource, long expectedVersion, IReadOnlyList<CatalogWithdrawal> withdrawals, AuditEvent audit, CancellationToken cancellationToken);
}

/// <summary>A resource's place in the catalog.</summary>
/// <param name="Version">The entry's version: 1 for the first publication, +1 for every publish and unpublish.</param>
/// <param name="Current">What is published now; null after an unpublish.</param>
internal sealed record CatalogEntry(long Version, Publication? Current);

/// <summary>What one resource of one tenant publishes, at one version.</summary>
internal sealed record Publication
{
    /// <summary>The tenant whose policy declares the resource's capabilities.</summary>
    public required string Tenant { get; init; }

    /// <summary>The resource (MCP server URI, RFC 8707), exactly as policy declares it.</summary>
    public required string Resource { get; init; }

    /// <summary>The entry version this publication was written at.</summary>
    public required long Version { get; init; }

    /// <summary>The tools, by name (ordinal order), each under one capability.</summary>
    public required IReadOnlyList<PublishedTool> Tools { get; init; }

    /// <summary>The workload that published it, qualified with its source (<c>oidc:ISSUER#ID</c> for OIDC).</summary>
    public required string PublishedBy { get; init; }

    /// <summary>When it was published.</summary>
    public required DateTimeOffset PublishedAt { get; init; }

    /// <summary>The policy version that allowed it.</summary>
    public required string PolicyVersion { get; init; }

    /// <summary>The capabilities some tool is published under, distinct, ordinal order.</summary>
    public IReadOnlyList<string> Capabilities() => [.. Tools.Select(t => t.Capability).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}

/// <summary>One published MCP tool.</summary>
/// <param name="Name">The MCP tool name.</param>
/// <param name="Capability">The capability it is under (one that policy declares for the resource, listing the tool).</param>
/// <param name="Title">Its human-readable title, if any.</param>
/// <param name="Description">Its description, if any.</param>
/// <param name="InputSchemaSha256">Lower-case hex SHA-256 of its input schema, so a changed schema shows in the diff.</param>
internal sealed record PublishedTool(string Name, string Capability, string? Title, string? Description, string InputSchemaSha256);

/// <summary>A capability a write withdraws, announced on the revocation feed until <paramref name="KeepUntil"/>.</summary>
/// <param name="Withdrawal">The capability and resource.</param>
/// <param name="KeepUntil">When the last token of it issued before now expires (now + its maximum lifetime).</param>
internal sealed record CatalogWithdrawal(CapabilityWithdrawal Withdrawal, DateTimeOffset KeepUntil);

/// <summary>The outcome of a catalog write: a closed set.</summary>
internal abstract record CatalogWriteResult
{
    private CatalogWriteResult()
    {
    }

    /// <summary>Written at <paramref name="Version"/>; the withdrawals' stream entries in <paramref name="Announced"/>.</summary>
    internal sealed record Written(long Version, IReadOnlyList<RevocationEntry> Announced) : CatalogWriteResult;

    /// <summary>Nothing written: the entry is at <paramref name="Current"/>, not at the expected version.</summary>
    internal sealed record VersionMismatch(long Current) : CatalogWriteResult;
}
