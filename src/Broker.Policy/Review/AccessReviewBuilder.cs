namespace Broker.Policy.Review;

/// <summary>
/// Builds an <see cref="AccessReview"/> from a tenant's policy, its current catalog publications and the grant counts
/// of the window. Pure: the broker reads the store, this decides what the review says.
/// </summary>
/// <remarks>
/// Definitions (docs/catalog.md, "Access review"):
/// <list type="bullet">
/// <item>An <b>entitlement</b> is a (rule subject pattern × capability) pair of a rule that gives <c>execute</c>; a rule
/// over <c>"*"</c> covers every capability of the tenant.</item>
/// <item>It is <b>unused</b> when no identity that matches the pattern obtained a grant of the capability in the window,
/// whichever rule allowed that grant (a grant does not record its rule).</item>
/// <item>An identity <b>partly uses</b> a rule when it matches one of the rule's subject patterns and obtained grants of
/// some, not all, of the capabilities the rule lets it execute.</item>
/// </list>
/// A rule's claim, purpose and caller conditions are shown but not applied to the counted identities: counts know the
/// identity only, not the token it presented, so an entitlement is judged by subject pattern.
/// </remarks>
public static class AccessReviewBuilder
{
    /// <summary>Builds the review.</summary>
    /// <param name="tenant">The tenant's policy.</param>
    /// <param name="policyVersion">The policy version.</param>
    /// <param name="window">The window reviewed.</param>
    /// <param name="publications">The tenant's current publications.</param>
    /// <param name="usage">The grant counts of the window.</param>
    /// <param name="flushInterval">How long counts may lag grants.</param>
    /// <param name="sharing">The policy's sharing across tenants; null for none.</param>
    /// <param name="consumerUsage">The grant counts of the window in each tenant the tenant shares with (they count a shared capability as <c>owner:capability</c>).</param>
    /// <returns>The review.</returns>
    public static AccessReview Build(
        TenantPolicy tenant,
        string policyVersion,
        ReviewWindow window,
        IReadOnlyList<ReviewPublication> publications,
        UsageTally usage,
        TimeSpan flushInterval,
        TenantSharing? sharing = null,
        IReadOnlyDictionary<string, UsageTally>? consumerUsage = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(publications);
        ArgumentNullException.ThrowIfNull(usage);
        var truncated = false;
        var identities = usage.ByCapability.Values.SelectMany(u => u.Keys).Distinct(StringComparer.Ordinal).ToDictionary(i => i, ReviewIdentity.Parse, StringComparer.Ordinal);

        // :: Per capability: what exists, who may, who did.
        List<CapabilityReview> capabilities = [];
        foreach (var capability in tenant.Capabilities.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            var used = usage.ByCapability.GetValueOrDefault(capability.Name);
            var usedBy = (used ?? []).OrderByDescending(u => u.Value).ThenBy(u => u.Key, StringComparer.Ordinal).ToList();
            var published = publications.Where(p => p.Tools.Any(t => t.Capability == capability.Name)).OrderBy(p => p.Resource, StringComparer.Ordinal).ToList();
            capabilities.Add(new CapabilityReview(
                capability.Name,
                capability.Resource,
                capability.Audience,
                capability.Tools,
                Describe(capability.Caller),
                [.. published.Select(p => new PublisherReview(p.Resource, p.PublishedBy, p.PublishedAt, p.Version))],
                [.. published.SelectMany(p => p.Tools).Where(t => t.Capability == capability.Name).OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new ToolReview(t.Name, t.Title, t.Description))],
                [.. tenant.Rules.Where(r => r.Covers(capability.Name) && r.Permissions != CapabilityPermissions.None).Select(Describe)],
                used?.Values.Sum() ?? 0,
                [.. usedBy.Take(ReviewLimits.MaxIdentitiesPerCapability).Select(u => new IdentityUse(u.Key, u.Value))],
                usedBy.Count > ReviewLimits.MaxIdentitiesPerCapability,
                SharedWith: [.. SharedWith(sharing, tenant.Name, capability.Name)],
                Consumers: Consumers(sharing, consumerUsage, tenant.Name, capability.Name)));
        }

        // :: Entitlements nobody used, and identities that used part of a rule.
        List<UnusedEntitlement> unused = [];
        List<PartialUse> partial = [];
        foreach (var rule in tenant.Rules.Where(r => (r.Permissions & CapabilityPermissions.Execute) != 0))
        {
            var covered = tenant.Capabilities.Keys.Where(rule.Covers).Order(StringComparer.Ordinal).ToList();
            foreach (var pattern in rule.Subjects)
            {
                foreach (var name in covered)
                {
                    var users = usage.ByCapability.GetValueOrDefault(name);
                    if (users is not null && users.Keys.Any(i => identities[i].MatchedBy(pattern)))
                    {
                        continue;
                    }

                    if (unused.Count == ReviewLimits.MaxUnusedEntitlements)
                    {
                        truncated = true;
                        break;
                    }

                    unused.Add(new UnusedEntitlement(name, rule.Name, rule.Source, pattern.Text));
                }
            }

            foreach (var (identity, parsed) in identities.OrderBy(i => i.Key, StringComparer.Ordinal))
            {
                if (!rule.Subjects.Any(parsed.MatchedBy))
                {
                    continue;
                }

                var usedHere = covered.Where(c => usage.ByCapability.GetValueOrDefault(c)?.ContainsKey(identity) == true).ToList();
                if (usedHere.Count == 0 || usedHere.Count == covered.Count)
                {
                    continue;
                }

                if (partial.Count == ReviewLimits.MaxPartialUse)
                {
                    truncated = true;
                    break;
                }

                partial.Add(new PartialUse(identity, rule.Name, rule.Source, usedHere, [.. covered.Except(usedHere, StringComparer.Ordinal)]));
            }
        }

        return new AccessReview(
            tenant.Name,
            policyVersion,
            window.GeneratedAt,
            window.Days,
            window.From,
            window.To,
            new ReviewUsage(usage.Total, usage.Overflow, (int)Math.Ceiling(flushInterval.TotalSeconds)),
            capabilities,
            unused,
            partial,
            truncated || capabilities.Any(c => c.UsedByTruncated));
    }

    private static IEnumerable<string> SharedWith(TenantSharing? sharing, string owner, string capability) =>
        (sharing?.Active ?? []).Where(s => s.Owner == owner && s.Capability == capability).Select(s => s.Consumer).Order(StringComparer.Ordinal);

    private static List<IdentityUse> Consumers(TenantSharing? sharing, IReadOnlyDictionary<string, UsageTally>? consumerUsage, string owner, string capability)
    {
        var qualified = TenantSharing.QualifiedName(owner, capability);
        return [.. SharedWith(sharing, owner, capability)
            .SelectMany(consumer => (consumerUsage?.GetValueOrDefault(consumer)?.ByCapability.GetValueOrDefault(qualified) ?? [])
                .Select(u => new IdentityUse(u.Key, u.Value) { Tenant = consumer }))
            .OrderByDescending(u => u.Grants).ThenBy(u => u.Tenant, StringComparer.Ordinal).ThenBy(u => u.Identity, StringComparer.Ordinal)
            .Take(ReviewLimits.MaxIdentitiesPerCapability)];
    }

    private static RuleReview Describe(PolicyRule rule) => new(
        rule.Name,
        rule.Source,
        [.. rule.Subjects.Select(s => s.Text)],
        Permissions(rule.Permissions),
        rule.Purposes?.Order(StringComparer.Ordinal).ToArray(),
        rule.Claims.Count == 0 ? null : [.. rule.Claims.Select(c => $"{c.Path} in [{string.Join(", ", c.AllowedValues)}]")],
        Describe(rule.Caller),
        rule.DecisionPoint,
        rule.Delegation is { } d ? [.. d.Actors.Select(a => a.Text)] : null);

    private static CallerConditionsReview? Describe(CallerConditions? caller) => caller is null ? null : new(
        caller.Principal is { } p ? Kind(p) : null,
        caller.AllowAutonomous ? null : false,
        caller.MaxActors,
        caller.ActorKinds is { } kinds ? [.. kinds.Select(Kind).Order(StringComparer.Ordinal)] : null,
        caller.RequirePurpose ? true : null);

    private static string Kind(PrincipalKind kind) => kind == PrincipalKind.Human ? "human" : "workload";

    private static string[] Permissions(CapabilityPermissions permissions)
    {
        List<string> names = [];
        if ((permissions & CapabilityPermissions.Discover) != 0)
        {
            names.Add("discover");
        }

        if ((permissions & CapabilityPermissions.Execute) != 0)
        {
            names.Add("execute");
        }

        if ((permissions & CapabilityPermissions.Publish) != 0)
        {
            names.Add("publish");
        }

        return [.. names];
    }
}

/// <summary>The days a review covers.</summary>
/// <param name="GeneratedAt">When the review is made.</param>
/// <param name="Days">How many UTC days, today included (1 to <see cref="ReviewLimits.MaxDays"/>).</param>
public sealed record ReviewWindow(DateTimeOffset GeneratedAt, int Days)
{
    /// <summary>The last day: today, in UTC.</summary>
    public DateOnly To => DateOnly.FromDateTime(GeneratedAt.UtcDateTime);

    /// <summary>The first day.</summary>
    public DateOnly From => To.AddDays(1 - Days);

    /// <summary>Every day of the window, oldest first.</summary>
    public IEnumerable<DateOnly> EachDay() => Enumerable.Range(0, Days).Select(From.AddDays);
}

/// <summary>A current publication, as the review needs it.</summary>
/// <param name="Resource">The resource.</param>
/// <param name="PublishedBy">The publisher.</param>
/// <param name="PublishedAt">When.</param>
/// <param name="Version">The entry version.</param>
/// <param name="Tools">The tools.</param>
public sealed record ReviewPublication(string Resource, string PublishedBy, DateTimeOffset PublishedAt, long Version, IReadOnlyList<ReviewTool> Tools);

/// <summary>A published tool, as the review needs it.</summary>
/// <param name="Name">The tool.</param>
/// <param name="Capability">Its capability.</param>
/// <param name="Title">Its title.</param>
/// <param name="Description">Its description.</param>
public sealed record ReviewTool(string Name, string Capability, string? Title, string? Description);

/// <summary>Grant counts of a window, summed over its days: per capability, per identity.</summary>
public sealed class UsageTally
{
    /// <summary>Counts per capability, then per identity.</summary>
    public Dictionary<string, Dictionary<string, long>> ByCapability { get; } = new(StringComparer.Ordinal);

    /// <summary>Grants counted without their identity (a day's cap reached, or the queue was full).</summary>
    public long Overflow { get; private set; }

    /// <summary>Every grant counted, the overflow included.</summary>
    public long Total { get; private set; }

    /// <summary>Adds <paramref name="count"/> grants of <paramref name="capability"/> to <paramref name="identity"/>.</summary>
    /// <param name="capability">The capability.</param>
    /// <param name="identity">The identity.</param>
    /// <param name="count">How many.</param>
    public void Add(string capability, string identity, long count)
    {
        ArgumentNullException.ThrowIfNull(capability);
        ArgumentNullException.ThrowIfNull(identity);
        if (!ByCapability.TryGetValue(capability, out var users))
        {
            ByCapability[capability] = users = new(StringComparer.Ordinal);
        }

        users[identity] = users.GetValueOrDefault(identity) + count;
        Total += count;
    }

    /// <summary>Adds grants counted without their identity.</summary>
    /// <param name="count">How many.</param>
    public void AddOverflow(long count)
    {
        Overflow += count;
        Total += count;
    }
}

/// <summary>
/// A counted identity, read back into what a subject pattern matches on: <c>oidc:ISSUER#ID</c> is an OIDC identity of
/// that issuer, a <c>spiffe://</c> ID an SVID of its trust domain, anything else an identity known without its source.
/// </summary>
internal readonly record struct ReviewIdentity(IdentityKind Kind, string Source, string Id)
{
    public static ReviewIdentity Parse(string qualified)
    {
        if (qualified.StartsWith(SubjectPattern.OidcPrefix, StringComparison.Ordinal) && qualified.IndexOf('#', StringComparison.Ordinal) is > 5 and var hash)
        {
            return new(IdentityKind.Oidc, qualified[SubjectPattern.OidcPrefix.Length..hash], qualified[(hash + 1)..]);
        }

        return Spiffe.SpiffeId.TryParse(qualified, out var id)
            ? new(IdentityKind.SpiffeJwt, id.TrustDomain.Name, qualified)
            : new(IdentityKind.Broker, "", qualified);
    }

    public bool MatchedBy(SubjectPattern pattern) => pattern.Matches(Kind, Source, Id, SourceMatching.AnySource);
}
