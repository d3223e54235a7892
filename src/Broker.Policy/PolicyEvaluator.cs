using Broker.Spiffe;

namespace Broker.Policy;

/// <summary>
/// Decides an exchange against one policy snapshot. Deny by default: the granted capabilities are
/// exactly those requested, and only when every one of them is allowed (no silent partial grants).
/// </summary>
/// <param name="timeProvider">The clock a re-exchange's remaining lifetime is measured with.</param>
public sealed class PolicyEvaluator(TimeProvider timeProvider)
{
    /// <summary>Lifetime when the request names none. Five minutes: long enough for one task step.</summary>
    public TimeSpan DefaultLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Decides <paramref name="request"/> against <paramref name="policy"/>.</summary>
    /// <param name="policy">The policy snapshot in force.</param>
    /// <param name="request">The validated subject (and actor) and what they ask for.</param>
    /// <returns><see cref="PolicyDecision.Allowed"/> with the lifetime and delegation chain, or <see cref="PolicyDecision.Denied"/> with the reason.</returns>
    public PolicyDecision Evaluate(PolicySet policy, PolicyRequest request)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(request);
        var version = policy.Version;

        // :: Step 1. The subject's tenant. A broker token names it; anything else is placed by the
        // tenants that trust its identity source.
        var (tenant, tenantReason) = ResolveTenant(policy, request.Subject);
        if (tenant is null)
        {
            return new PolicyDecision.Denied(version, tenantReason!.Value, null);
        }

        // :: Step 2. The delegation chain: the new actor first, then the chain the subject already had
        // (RFC 8693 §4.1: the most recent actor is the outermost act claim).
        var grant = request.Subject.Grant;
        IReadOnlyList<string> chain = grant?.ActorChain ?? [];
        var caller = CallerOf(policy, tenant, request.Subject);
        if (request.Actor is { } actor)
        {
            var (actorTenant, _) = ResolveTenant(policy, actor);
            if (actorTenant is null)
            {
                return new PolicyDecision.Denied(version, PolicyDenialReason.ActorNotAllowed, tenant.Name);
            }

            if (!ReferenceEquals(actorTenant, tenant))
            {
                return new PolicyDecision.Denied(version, PolicyDenialReason.ActorOtherTenant, tenant.Name);
            }

            chain = [actor.Id, .. chain];
            caller = caller.WithActor(KindOf(policy, tenant.Name, actor));
        }

        // :: Step 3. A re-exchange can only narrow what the subject token already carries.
        if (grant is not null)
        {
            foreach (var name in request.Capabilities)
            {
                if (!grant.Scope.Contains(name, StringComparer.Ordinal))
                {
                    return new PolicyDecision.Denied(version, PolicyDenialReason.ScopeBeyondSubjectToken, tenant.Name);
                }
            }
        }

        // :: Step 4. Every capability must exist in this tenant and live on the one target. A target that is another
        // tenant's, with a share in force to this one, is that tenant's (docs/sharing.md): its capabilities, each shared
        // with this tenant for execution, for this subject.
        var owner = policy.Sharing.OwnerOfTarget(policy, tenant.Name, request.Resource, request.Audience) ?? tenant;
        var shared = !ReferenceEquals(owner, tenant);
        var capabilities = new Capability[request.Capabilities.Count];
        for (var i = 0; i < capabilities.Length; i++)
        {
            if (!owner.Capabilities.TryGetValue(request.Capabilities[i], out var capability)
                || (shared && !SharedForExecution(policy.Sharing.Find(tenant.Name, owner.Name, capability.Name), request.Subject)))
            {
                // Same answer as "not allowed": the caller learns nothing about what exists, nor what is shared.
                return new PolicyDecision.Denied(version, PolicyDenialReason.ScopeNotAllowed, tenant.Name);
            }

            capabilities[i] = capability;
        }

        var audience = request.Resource ?? request.Audience!;
        foreach (var capability in capabilities)
        {
            if ((request.Resource is not null && !string.Equals(capability.Resource, request.Resource, StringComparison.Ordinal))
                || (request.Audience is not null && !string.Equals(capability.Audience, request.Audience, StringComparison.Ordinal)
                    && !(request.Resource is null && string.Equals(capability.Resource, request.Audience, StringComparison.Ordinal))))
            {
                return new PolicyDecision.Denied(version, PolicyDenialReason.TargetMismatch, tenant.Name);
            }
        }

        if (grant is not null && !string.Equals(grant.Audience, audience, StringComparison.Ordinal))
        {
            return new PolicyDecision.Denied(version, PolicyDenialReason.TargetBeyondSubjectToken, tenant.Name);
        }

        // :: Step 5. Each capability needs a rule that lets this subject execute it for this purpose,
        // and, when delegated, lets the current actor act at this depth. A tenant or capability that requires proof
        // of possession gets a token bound to a DPoP key or a client certificate, never a bearer token. A capability
        // allowed only by a rule that delegates to a decision point is allowed here and listed for the caller to ask it.
        List<DelegatedDecision>? delegated = null;
        foreach (var capability in capabilities)
        {
            if ((capability.RequireProofOfPossession || tenant.RequireProofOfPossession || owner.RequireProofOfPossession) && !request.Subject.IsSenderConstrained)
            {
                return new PolicyDecision.Denied(version, PolicyDenialReason.ProofOfPossessionRequired, tenant.Name);
            }

            // A capability's own caller conditions hold whichever rule allows it (its approval paths' floor). Checked
            // once a rule allows this subject, so that a caller no rule names learns nothing of them.
            // A shared capability needs a rule of the consumer too, naming it owner:capability (never by '*').
            var ruleName = shared ? TenantSharing.QualifiedName(owner.Name, capability.Name) : capability.Name;
            var denial = FindExecuteRule(tenant, ruleName, explicitOnly: shared, request, chain, caller, out var delegating) ?? capability.Caller?.Check(caller, request.Purpose);
            if (denial is not null)
            {
                return new PolicyDecision.Denied(version, denial.Value, tenant.Name);
            }

            if (delegating is not null)
            {
                // The compiler checks every reference; a dangling one still fails closed.
                if (!tenant.DecisionPoints.TryGetValue(delegating.DecisionPoint!, out var point))
                {
                    return new PolicyDecision.Denied(version, PolicyDenialReason.ScopeNotAllowed, tenant.Name);
                }

                (delegated ??= []).Add(new DelegatedDecision(capability.Name, delegating.Name, point));
            }
        }

        // :: Step 5b. Task limits: a request that alone asks for a whole forbidden combination is refused here; what the
        // rest of the task holds is the grant store's to check, atomically with recording the grant.
        // A shared grant is outside both tenants' task limits: the owner's task IDs are not the consumer's (docs/sharing.md).
        IReadOnlyList<IReadOnlyList<string>> remainders = [];
        if (!shared && tenant.TaskLimits is { } taskLimits)
        {
            remainders = taskLimits.RemaindersFor(request.Capabilities, out var violatedAlone);
            if (violatedAlone)
            {
                return new PolicyDecision.Denied(version, PolicyDenialReason.ForbiddenCombination, tenant.Name);
            }
        }

        // :: Step 6. Lifetime = the smallest of what was asked, the capabilities' and tenant's maximum,
        // and, for a re-exchange, what is left of the subject token.
        var lifetime = request.RequestedLifetime ?? DefaultLifetime;
        lifetime = Min(Min(lifetime, tenant.MaxLifetime), owner.MaxLifetime);
        foreach (var capability in capabilities)
        {
            lifetime = Min(lifetime, capability.MaxLifetime);
        }

        if (grant is not null)
        {
            lifetime = Min(lifetime, request.Subject.ExpiresAt - timeProvider.GetUtcNow());
        }

        return new PolicyDecision.Allowed(version, owner.Name, request.Capabilities, audience, lifetime, chain)
        {
            Delegated = delegated ?? [],
            Caller = caller,
            TaskLimits = shared ? null : tenant.TaskLimits,
            ForbiddenRemainders = remainders,
            ConsumerTenant = shared ? tenant.Name : null,
        };
    }

    /// <summary>
    /// Null when allowed; otherwise the most specific reason no rule allowed it. Rules are allow rules, so a matching rule
    /// that decides alone allows outright; when only rules that delegate to a decision point match,
    /// <paramref name="delegating"/> is the first of them (file order), whose decision point must then permit.
    /// </summary>
    private static PolicyDenialReason? FindExecuteRule(TenantPolicy tenant, string capability, bool explicitOnly, PolicyRequest request, IReadOnlyList<string> chain, CallerKinds caller, out PolicyRule? delegating)
    {
        delegating = null;
        var reason = PolicyDenialReason.ScopeNotAllowed;
        foreach (var rule in tenant.Rules)
        {
            if ((rule.Permissions & CapabilityPermissions.Execute) == 0
                || !(explicitOnly ? rule.Capabilities?.Contains(capability) == true : rule.Covers(capability))
                || !rule.MatchesSubject(request.Subject)
                // Claim conditions read the presented token. A broker token carries no upstream claims,
                // so claim-conditioned rules do not match it: fail closed rather than guess.
                || !ClaimCondition.AllSatisfied(rule.Claims, request.Subject.Claims)
                || (rule.Purposes is not null && !rule.Purposes.Contains(request.Purpose)))
            {
                continue;
            }

            // The actor of this request is matched with its source; an actor carried over from the
            // subject token's chain is known by its identity only.
            if (rule.CheckDelegation(chain, request.Actor) is { } delegationDenial)
            {
                reason = delegationDenial;
                continue;
            }

            // The rule's approval path: which callers it is for.
            if (rule.Caller?.Check(caller, request.Purpose) is { } callerDenial)
            {
                reason = callerDenial;
                continue;
            }

            if (Allows(rule, ref delegating))
            {
                return null;
            }
        }

        if (delegating is not null)
        {
            return null;
        }

        return reason;
    }

    /// <summary>
    /// True when <paramref name="rule"/>, which matched, allows alone; a rule that delegates is kept in
    /// <paramref name="delegating"/> (the first one) while the search goes on for one that allows alone.
    /// </summary>
    private static bool Allows(PolicyRule rule, ref PolicyRule? delegating)
    {
        if (rule.DecisionPoint is null)
        {
            delegating = null;
            return true;
        }

        delegating ??= rule;
        return false;
    }

    /// <summary>
    /// The tenant a validated identity belongs to: named by a broker token, otherwise the one tenant
    /// whose trust entry for the identity's source matches it.
    /// </summary>
    /// <param name="policy">The policy snapshot in force.</param>
    /// <param name="identity">The validated identity.</param>
    /// <returns>The tenant, or null and why there is none.</returns>
    public static (TenantPolicy? Tenant, PolicyDenialReason? Reason) ResolveTenant(PolicySet policy, WorkloadIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Grant is { } grant)
        {
            // A shared grant belongs to the owner, but its subject to the consumer: decided there again.
            return policy.Tenants.TryGetValue(grant.ConsumerTenant ?? grant.Tenant, out var own) ? (own, null) : (null, PolicyDenialReason.NoTenant);
        }

        if (!MaySpeakFor(policy, identity))
        {
            return (null, PolicyDenialReason.SpiffeIdNotAllowed);
        }

        var index = identity.Kind switch
        {
            IdentityKind.SpiffeJwt or IdentityKind.SpiffeX509 when policy.TrustDomains.TryGetValue(identity.Source, out var td) => td.TenantIndex,
            IdentityKind.Oidc when policy.OidcIssuers.TryGetValue(identity.Source, out var issuer) => issuer.TenantIndex,
            _ => null,
        };
        if (index is null)
        {
            return (null, PolicyDenialReason.NoTenant);
        }

        // Only the entries that can match (TenantBindingIndex): the same answer as trying all of them, at a cost that
        // does not grow with the number of tenants sharing the source.
        TenantPolicy? found = null;
        foreach (var binding in index.Candidates(identity.Id))
        {
            if (!binding.Matches(identity.Id, identity.Claims))
            {
                continue;
            }

            if (found is not null && found.Name != binding.Tenant)
            {
                return (null, PolicyDenialReason.AmbiguousTenant);
            }

            found = policy.Tenants[binding.Tenant];
        }

        return found is null ? (null, PolicyDenialReason.NoTenant) : (found, null);
    }

    /// <summary>
    /// False when an OIDC issuer mapped a token to a SPIFFE ID of a trust domain its trust entry does not
    /// list in <c>spiffe_trust_domains</c>: the identity would pass for an SVID of that trust domain in
    /// every pattern that names it. Checked against the policy in force on every request, so a validated
    /// token kept in the cache cannot outlive a change of the list. Any <c>spiffe:</c> prefix counts,
    /// whatever its case, so a near-miss spelling cannot slip past as "not a SPIFFE ID".
    /// </summary>
    internal static bool MaySpeakFor(PolicySet policy, WorkloadIdentity identity)
    {
        if (identity.Kind != IdentityKind.Oidc || !identity.Id.StartsWith("spiffe:", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return policy.OidcIssuers.TryGetValue(identity.Source, out var issuer)
            && SpiffeId.TryParse(identity.Id, out var id)
            && issuer.SpiffeTrustDomains.Contains(id.TrustDomain.Name);
    }

    /// <summary>
    /// What kind of principal a validated identity is in its tenant: human only when it is an OIDC identity and every
    /// trust entry of the tenant that accepts it says <c>principal: human</c> (two entries that disagree make it a
    /// workload: the mark widens what policy allows, so doubt narrows it). Everything else is a workload.
    /// </summary>
    /// <param name="policy">The policy snapshot in force.</param>
    /// <param name="tenant">The identity's tenant.</param>
    /// <param name="identity">The validated identity.</param>
    /// <returns>The identity's kind.</returns>
    public static PrincipalKind KindOf(PolicySet policy, string tenant, WorkloadIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.Kind != IdentityKind.Oidc || !policy.OidcIssuers.TryGetValue(identity.Source, out var issuer))
        {
            return PrincipalKind.Workload;
        }

        var human = false;
        foreach (var binding in issuer.TenantIndex.Candidates(identity.Id))
        {
            if (!string.Equals(binding.Tenant, tenant, StringComparison.Ordinal) || !binding.Matches(identity.Id, identity.Claims))
            {
                continue;
            }

            if (binding.Principal != PrincipalKind.Human)
            {
                return PrincipalKind.Workload;
            }

            human = true;
        }

        return human ? PrincipalKind.Human : PrincipalKind.Workload;
    }

    /// <summary>
    /// The kinds of the chain a subject brings before any new actor: a broker token's own chain (its <c>caller</c>
    /// claim), else the subject alone, of the kind <see cref="KindOf"/> says. Discovery computes a caller's kinds with
    /// it too, so the catalog and the exchange judge <c>caller:</c> conditions on the same chain.
    /// </summary>
    /// <param name="policy">The policy snapshot in force.</param>
    /// <param name="tenant">The subject's tenant.</param>
    /// <param name="subject">The validated subject.</param>
    /// <returns>The chain's kinds.</returns>
    public static CallerKinds CallerOf(PolicySet policy, TenantPolicy tenant, WorkloadIdentity subject)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(subject);
        return subject.Grant is { } grant ? KindsOf(grant) : new CallerKinds(KindOf(policy, tenant.Name, subject), []);
    }

    /// <summary>
    /// The kinds a token of this broker carries, when they fit its chain; otherwise (a token minted before the claim
    /// existed) every identity of the chain is taken for a workload.
    /// </summary>
    internal static CallerKinds KindsOf(BrokerGrantContext grant) =>
        grant.Caller is { } kinds && kinds.Actors.Count == grant.ActorChain.Count
            ? kinds
            : new CallerKinds(PrincipalKind.Workload, [.. grant.ActorChain.Select(_ => PrincipalKind.Workload)]);

    /// <summary>True when a share in force lets the consumer's <paramref name="subject"/> execute the capability.</summary>
    private static bool SharedForExecution(CapabilityShare? share, WorkloadIdentity subject) =>
        share is not null && (share.Permissions & CapabilityPermissions.Execute) != 0 && share.AllowsSubject(subject);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
