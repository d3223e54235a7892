using System.Text.Json.Serialization;

namespace Broker.Policy.Review;

/// <summary>
/// The inventory and access review of one tenant (<c>GET /admin/v1/review</c>, <c>brokerctl review</c>): per
/// capability, what exists (publishers, tools), who policy lets discover and execute it, who actually obtained grants of
/// it in the window, and the entitlements nobody used. The wire model the broker writes and brokerctl reads
/// (<see cref="AccessReviewJsonContext"/>), so both sides agree on one shape.
/// </summary>
/// <param name="Tenant">The tenant reviewed.</param>
/// <param name="PolicyVersion">The policy version the rules are read from.</param>
/// <param name="GeneratedAt">When the review was made.</param>
/// <param name="Days">The window, in UTC days, today included.</param>
/// <param name="From">The first UTC day of the window.</param>
/// <param name="To">The last UTC day of the window (today).</param>
/// <param name="Usage">How complete the grant counts are.</param>
/// <param name="Capabilities">Every capability of the tenant, by name.</param>
/// <param name="UnusedEntitlements">(rule subject pattern × capability) pairs with execute and no grant in the window.</param>
/// <param name="PartialUse">Identities that used some, not all, of the capabilities a rule lets them execute.</param>
/// <param name="Truncated">True when a list was cut at its cap (<see cref="ReviewLimits"/>).</param>
public sealed record AccessReview(
    string Tenant,
    string PolicyVersion,
    DateTimeOffset GeneratedAt,
    int Days,
    DateOnly From,
    DateOnly To,
    ReviewUsage Usage,
    IReadOnlyList<CapabilityReview> Capabilities,
    IReadOnlyList<UnusedEntitlement> UnusedEntitlements,
    IReadOnlyList<PartialUse> PartialUse,
    bool Truncated);

/// <summary>How complete the grant counts of a review are.</summary>
/// <param name="Grants">Grants counted in the window (one per capability of a grant).</param>
/// <param name="Overflow">
/// Grants counted without their identity: a day's count reached its cap of distinct (capability, identity) pairs, or
/// the broker's in-process queue was full. Non-zero means <c>used_by</c> and the unused lists may be incomplete.
/// </param>
/// <param name="FlushIntervalSeconds">Counts lag grants by up to this long (the counter's flush interval).</param>
public sealed record ReviewUsage(long Grants, long Overflow, int FlushIntervalSeconds);

/// <summary>One capability in a review.</summary>
/// <param name="Name">The capability.</param>
/// <param name="Resource">Its MCP server (RFC 8707 resource), if any.</param>
/// <param name="Audience">Its logical audience, if any.</param>
/// <param name="DeclaredTools">The tools policy declares for it.</param>
/// <param name="Caller">Its own caller conditions (<c>caller:</c>), if any.</param>
/// <param name="Publishers">Who published tools under it, per resource (the catalog's current publications).</param>
/// <param name="Tools">The tools published under it.</param>
/// <param name="Rules">The rules that give any permission on it, in file order.</param>
/// <param name="Grants">Grants of it counted in the window.</param>
/// <param name="UsedBy">The identities that obtained grants of it, most grants first, at most <see cref="ReviewLimits.MaxIdentitiesPerCapability"/>.</param>
/// <param name="UsedByTruncated">True when more identities used it than listed.</param>
/// <param name="SharedWith">
/// The tenants this capability is shared with, where both sides agree (<c>shares:</c> and <c>accepts:</c>).
/// </param>
/// <param name="Consumers">
/// The identities of other tenants that obtained grants of it through sharing, with their tenant, most grants first, at
/// most <see cref="ReviewLimits.MaxIdentitiesPerCapability"/>.
/// </param>
public sealed record CapabilityReview(
    string Name,
    string? Resource,
    string? Audience,
    IReadOnlyList<string> DeclaredTools,
    CallerConditionsReview? Caller,
    IReadOnlyList<PublisherReview> Publishers,
    IReadOnlyList<ToolReview> Tools,
    IReadOnlyList<RuleReview> Rules,
    long Grants,
    IReadOnlyList<IdentityUse> UsedBy,
    bool UsedByTruncated,
    IReadOnlyList<string> SharedWith,
    IReadOnlyList<IdentityUse> Consumers);

/// <summary>A publication under a capability.</summary>
/// <param name="Resource">The resource published.</param>
/// <param name="PublishedBy">The publishing workload (source-qualified for OIDC).</param>
/// <param name="PublishedAt">When.</param>
/// <param name="Version">The catalog entry's version.</param>
public sealed record PublisherReview(string Resource, string PublishedBy, DateTimeOffset PublishedAt, long Version);

/// <summary>A published tool.</summary>
/// <param name="Name">The MCP tool name.</param>
/// <param name="Title">Its title, if any.</param>
/// <param name="Description">Its description, if any (publisher-supplied text: render it encoded).</param>
public sealed record ToolReview(string Name, string? Title, string? Description);

/// <summary>A rule as a review shows it.</summary>
/// <param name="Name">The rule's name (<c>name:</c>, else its line).</param>
/// <param name="Source">Where it is written (<c>file:line</c>).</param>
/// <param name="Subjects">Its subject patterns.</param>
/// <param name="Permissions">What it gives: <c>discover</c>, <c>execute</c>, <c>publish</c>.</param>
/// <param name="Purposes">The purposes execute is limited to; null for any.</param>
/// <param name="Claims">Its claim conditions, as <c>path in [values]</c>; null for none.</param>
/// <param name="Caller">Its caller conditions, if any.</param>
/// <param name="DecisionPoint">The decision point it delegates to, if any.</param>
/// <param name="DelegationActors">Who may act for its subjects, if delegation is allowed.</param>
public sealed record RuleReview(
    string Name,
    string Source,
    IReadOnlyList<string> Subjects,
    IReadOnlyList<string> Permissions,
    IReadOnlyList<string>? Purposes,
    IReadOnlyList<string>? Claims,
    CallerConditionsReview? Caller,
    string? DecisionPoint,
    IReadOnlyList<string>? DelegationActors);

/// <summary>Caller conditions (<c>caller:</c>) as a review shows them; unset ones are null.</summary>
/// <param name="Principal"><c>human</c> or <c>workload</c>.</param>
/// <param name="Autonomous">False when autonomous chains are refused.</param>
/// <param name="MaxActors">Most actors.</param>
/// <param name="ActorKinds">Kinds the actors may be.</param>
/// <param name="RequirePurpose">True when a purpose must be declared.</param>
public sealed record CallerConditionsReview(string? Principal, bool? Autonomous, int? MaxActors, IReadOnlyList<string>? ActorKinds, bool? RequirePurpose);

/// <summary>An identity and how many grants it obtained.</summary>
/// <param name="Identity">The subject of the grants (source-qualified for OIDC: <c>oidc:ISSUER#ID</c>).</param>
/// <param name="Grants">Grants counted in the window.</param>
public sealed record IdentityUse(string Identity, long Grants)
{
    /// <summary>For a consumer of a shared capability: the identity's own tenant. Null for the reviewed tenant's identities.</summary>
    public string? Tenant { get; init; }
}

/// <summary>An entitlement no identity used in the window: remove it, or narrow the rule.</summary>
/// <param name="Capability">The capability.</param>
/// <param name="Rule">The rule's name.</param>
/// <param name="Source">The rule's <c>file:line</c>.</param>
/// <param name="Subject">The rule's subject pattern no matching identity obtained the capability under.</param>
public sealed record UnusedEntitlement(string Capability, string Rule, string Source, string Subject);

/// <summary>An identity that used some, not all, of what a rule lets it execute.</summary>
/// <param name="Identity">The identity.</param>
/// <param name="Rule">The rule's name.</param>
/// <param name="Source">The rule's <c>file:line</c>.</param>
/// <param name="Used">The rule's capabilities it obtained grants of.</param>
/// <param name="Unused">The rule's capabilities it did not.</param>
public sealed record PartialUse(string Identity, string Rule, string Source, IReadOnlyList<string> Used, IReadOnlyList<string> Unused);

/// <summary>The caps that keep a review's size bounded whatever the tenant's traffic.</summary>
public static class ReviewLimits
{
    /// <summary>Most identities listed per capability (<see cref="CapabilityReview.UsedBy"/>).</summary>
    public const int MaxIdentitiesPerCapability = 100;

    /// <summary>Most entries of <see cref="AccessReview.UnusedEntitlements"/>.</summary>
    public const int MaxUnusedEntitlements = 1000;

    /// <summary>Most entries of <see cref="AccessReview.PartialUse"/>.</summary>
    public const int MaxPartialUse = 1000;

    /// <summary>Most days a review looks back.</summary>
    public const int MaxDays = 90;

    /// <summary>The window when none is asked for.</summary>
    public const int DefaultDays = 30;
}

/// <summary>Source-generated JSON for the review (snake_case, nulls left out), shared by the broker and brokerctl.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    MaxDepth = 16)]
[JsonSerializable(typeof(AccessReview))]
public sealed partial class AccessReviewJsonContext : JsonSerializerContext;
