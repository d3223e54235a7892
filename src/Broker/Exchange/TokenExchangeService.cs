using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.Policy;
using Broker.StatusList;
using Broker.Subjects;
using Broker.Tokens;

namespace Broker.Exchange;

/// <summary>
/// The exchange pipeline, in fixed order: validate subject → validate actor → policy → record grant (with its audit
/// event and its status list index) → mint → respond. Both grants of the token endpoint run it: the RFC 8693 token
/// exchange, and the RFC 7523 jwt-bearer grant, whose assertion is the subject token (and which has no actor, no
/// re-exchange and no mutual-TLS subject). Exactly one audit event per request: an issuance is
/// recorded with its grant, every other ending in <c>finally</c> from the <see cref="ExchangeAudit"/> the
/// steps filled in, so no path can skip it or lose what an earlier step learned.
/// </summary>
internal sealed class TokenExchangeService(
    IPolicyProvider policyProvider,
    SubjectTokenValidator subjects,
    PolicyEvaluator evaluator,
    Broker.AuthZen.AuthZenGate decisionPoints,
    CapabilityTokenIssuer issuer,
    StatusListUris statusLists,
    ExchangeRateLimiter rateLimiter,
    AuditTrail audit,
    TimeProvider timeProvider,
    ILogger<TokenExchangeService> logger,
    ExchangeTelemetry telemetry,
    PolicyTelemetry policyTelemetry,
    Catalog.PublishingGate publishing,
    Review.UsageRecorder usage)
{
    /// <summary>Runs the exchange for a caller outside HTTP (benchmarks); audited like any request.</summary>
    public ValueTask<ExchangeOutcome> ExchangeAsync(TokenExchangeRequest request, ExchangeCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return ExchangeAsync(request, caller, new ExchangeAudit(caller.Address), cancellationToken);
    }

    /// <summary>Runs the exchange, recording its audit event from <paramref name="auditContext"/>.</summary>
    public async ValueTask<ExchangeOutcome> ExchangeAsync(TokenExchangeRequest request, ExchangeCaller caller, ExchangeAudit auditContext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(auditContext);
        var subjectHash = TokenHash.Of(request.SubjectToken);
        auditContext.Describe(request, subjectHash);

        ExchangeOutcome? outcome = null;
        try
        {
            outcome = await RunAsync(request, caller, subjectHash, auditContext, cancellationToken);
            return outcome;
        }
        catch (GrantStoreUnavailableException)
        {
            // The store was needed to authenticate (a subject or actor token of this broker is checked against
            // its grant) and did not answer: an outage, 503 with Retry-After, audited as such.
            outcome = new ExchangeOutcome.Rejected(ErrorCatalog.StoreUnavailable);
            return outcome;
        }
        finally
        {
            // The issued event was written with the grant; every other ending is audited here.
            if (outcome is not ExchangeOutcome.Issued)
            {
                await RefuseAsync(auditContext, (outcome as ExchangeOutcome.Rejected)?.Reason ?? ErrorCatalog.ServerError);
            }
        }
    }

    /// <summary>
    /// Records the refusal of a request, with whatever <paramref name="auditContext"/> knows. Once per request:
    /// a later call for the same request records nothing.
    /// </summary>
    public async ValueTask RefuseAsync(ExchangeAudit auditContext, ErrorDescriptor reason)
    {
        ArgumentNullException.ThrowIfNull(auditContext);
        if (auditContext.TryComplete())
        {
            var denied = auditContext.Denied(timeProvider.GetUtcNow(), reason);
            await audit.RecordAsync(denied, CancellationToken.None);
            telemetry.Completed(denied, reason, auditContext.StartTimestamp);
        }
    }

    private async ValueTask<ExchangeOutcome> RunAsync(TokenExchangeRequest request, ExchangeCaller caller, TokenHash subjectHash, ExchangeAudit auditContext, CancellationToken cancellationToken)
    {
        var policy = policyProvider.Current;
        if (policy is null)
        {
            return new ExchangeOutcome.Rejected(ErrorCatalog.PolicyUnavailable);
        }

        // :: Step 1. Who is asking for whom.
        // A jwt-bearer assertion is a workload's own credential (RFC 7523 §3: its issuer vouches for the workload).
        // One of our capability tokens is narrowed or delegated by the token exchange, where the grant it carries is
        // kept; refused here before its grant is looked up, and counted like any credential that did not authenticate.
        if (request.IsJwtBearer && subjects.IsOwnToken(request.SubjectToken))
        {
            rateLimiter.AuthenticationFailed(caller);
            return new ExchangeOutcome.Rejected(ErrorCatalog.AssertionBrokerToken);
        }

        SubjectValidationResult subjectResult;
        using (ExchangeTelemetry.StartStep("subject"))
        {
            // Every type of subject, the caller's TLS client certificate included, is validated behind one entry point.
            subjectResult = await subjects.ValidateAsync(
                new PresentedSubject(request.SubjectToken, request.SubjectTokenType, subjectHash, caller.ClientCertificate), policy, cancellationToken);
        }

        if (subjectResult is not SubjectValidationResult.Valid { Identity: var subject })
        {
            rateLimiter.AuthenticationFailed(caller);
            var reason = ((SubjectValidationResult.Invalid)subjectResult).Reason;

            // The same refusal; its description names the parameter the client sent.
            return new ExchangeOutcome.Rejected(request.IsJwtBearer ? ErrorCatalog.ForAssertion(reason) : reason);
        }

        // From here on every refusal names the subject, its tenant and the policy version.
        auditContext.SubjectValidated(subject, policy);

        // The rate limits per identity and per tenant: the identity is known from here on.
        if (rateLimiter.Acquire(policy, subject) is { } limited)
        {
            return limited;
        }

        // A token bound to a certificate (RFC 8705) can only be re-exchanged over that certificate,
        // and the binding carries over: narrowing never turns a bound token into a bearer token.
        if (subject.Grant?.CertificateThumbprint is { } boundTo)
        {
            if (caller.ClientCertificate is null || X509SvidSubjectValidator.Thumbprint(caller.ClientCertificate) != boundTo)
            {
                return new ExchangeOutcome.Rejected(ErrorCatalog.SubjectBindingMismatch);
            }

            subject = subject with { CertificateThumbprint = boundTo };
        }

        if (Bind(subject, caller.DPoPThumbprint) is { } bindingError)
        {
            return new ExchangeOutcome.Rejected(bindingError);
        }

        subject = subject with { ProofKeyThumbprint = caller.DPoPThumbprint };

        WorkloadIdentity? actor = null;
        if (request.ActorToken is not null)
        {
            SubjectValidationResult actorResult;
            using (ExchangeTelemetry.StartStep("actor"))
            {
                actorResult = await subjects.ValidateAsync(request.ActorToken, TokenHash.Of(request.ActorToken), policy, cancellationToken);
            }

            if (actorResult is not SubjectValidationResult.Valid { Identity: var validActor })
            {
                var reason = ((SubjectValidationResult.Invalid)actorResult).Reason;
                Log.ActorRejected(logger, reason.Reason);
                rateLimiter.AuthenticationFailed(caller);

                // The caller learns only that the actor_token is invalid; the trail keeps why (actor.expired, ...).
                return new ExchangeOutcome.Rejected(ErrorCatalog.ForActor(reason));
            }

            // An actor proves who it is with its own workload credential. One of our tokens names a subject
            // (and a chain) that the grant gave someone else: accepting it would let that chain be dropped
            // or re-rooted, laundering the delegation (RFC 8693 §4.1 builds act from the actor's identity).
            if (validActor.Kind == IdentityKind.Broker)
            {
                return new ExchangeOutcome.Rejected(ErrorCatalog.ActorBrokerToken);
            }

            actor = validActor;
        }

        // A re-exchanged token stays in its task: narrowing, not re-purposing.
        if (subject.Grant is { } parent && (parent.TaskId != request.TaskId || parent.Purpose != request.Purpose))
        {
            return new ExchangeOutcome.Rejected(ErrorCatalog.TaskContextChanged);
        }

        // :: Step 2. Policy.
        var decision = policyTelemetry.Evaluate(evaluator, policy, new PolicyRequest(
            subject, actor, request.Capabilities, request.Resource, request.Audience, request.Purpose, request.RequestedLifetime));
        auditContext.PolicyVersion = decision.PolicyVersion;
        if (decision is PolicyDecision.Denied denied)
        {
            auditContext.TenantDecided(denied.Tenant);
            return new ExchangeOutcome.Rejected(PolicyDenials.ToError(denied.Reason));
        }

        var allowed = (PolicyDecision.Allowed)decision;

        // A tenant that requires publication executes only capabilities whose MCP server has published tools under
        // them (docs/catalog.md): policy says who may, the catalog that the capability exists.
        if (await publishing.CheckAsync(policy.Tenants[allowed.Tenant], allowed.Capabilities, cancellationToken) is { } unpublished)
        {
            auditContext.TenantDecided(allowed.Tenant);
            return new ExchangeOutcome.Rejected(unpublished);
        }

        // :: Step 2b. What policy allowed through a rule that delegates to the tenant's decision point (OpenID AuthZEN),
        // that decision point must permit too; a deny or no answer refuses the exchange (fail closed).
        if (await decisionPoints.CheckAsync(policy, allowed, subject, new(request.Capabilities, request.Purpose, request.TaskId), cancellationToken) is { } refusal)
        {
            auditContext.TenantDecided(allowed.Tenant);
            return new ExchangeOutcome.Rejected(refusal);
        }

        // :: Step 3. Record the grant: no token exists without its grant (fail closed). Whole seconds, because exp and
        // iat are NumericDate. Recorded before the token is minted because the store allocates the token's status list
        // index in the same atomic step; a token that then failed to mint leaves a grant without a token, which
        // expires with its TTL and its index with it.
        var issuedAt = TruncateToSeconds(timeProvider.GetUtcNow());
        var lifetimeSeconds = Math.Max(1, (long)allowed.Lifetime.TotalSeconds);
        var expiresAt = issuedAt.AddSeconds(lifetimeSeconds);
        var grantId = GrantId.New(allowed.Tenant);
        var clientId = allowed.ActorChain.Count > 0 ? allowed.ActorChain[0] : subject.Id;

        // A grant without a task (a jwt-bearer grant that named none) is its own task: revoking the task revokes it.
        var taskId = request.TaskId ?? grantId;
        var grant = new GrantRecord
        {
            Id = grantId,
            Tenant = allowed.Tenant,
            Subject = subject.Id,
            ClientId = clientId,
            ActorChain = allowed.ActorChain,
            Capabilities = allowed.Capabilities,
            Audience = allowed.Audience,
            TaskId = taskId,
            Purpose = request.Purpose,
            IssuedAt = issuedAt,
            ExpiresAt = expiresAt,
            PolicyVersion = allowed.PolicyVersion,
            ParentGrantId = subject.Grant?.GrantId,
            Binding = subject.ProofKeyThumbprint is { } jkt ? new GrantBinding(jkt, null)
                : subject.CertificateThumbprint is { } thumbprint ? new GrantBinding(null, thumbprint) : null,
            TaskLimits = TaskLimitsOf(allowed),
            ConsumerTenant = allowed.ConsumerTenant,
        };
        auditContext.TenantDecided(allowed.Tenant);
        var issuedEvent = auditContext.Event(issuedAt) with
        {
            Outcome = AuditOutcome.Allowed,
            Tenant = allowed.Tenant,
            ActorChain = allowed.ActorChain,
            GrantedCapabilities = allowed.Capabilities,
            Audience = allowed.Audience,
            TaskId = taskId,
            GrantId = grantId,
            ConsumerTenant = allowed.ConsumerTenant,
        };

        RecordGrantOutcome recorded;
        try
        {
            // The store checks the parent grant again, atomically with recording this one: a revocation of the
            // parent that raced this exchange (after step 1) is either seen here or cascades to this grant.
            recorded = await audit.RecordGrantAsync(grant, issuedEvent, cancellationToken);
        }
        catch (GrantStoreUnavailableException)
        {
            Log.GrantNotRecorded(logger, grantId);
            return new ExchangeOutcome.Rejected(ErrorCatalog.StoreUnavailable);
        }

        switch (recorded.Result)
        {
            case RecordGrantResult.ParentNotActive:
                return new ExchangeOutcome.Rejected(ErrorCatalog.SubjectGrantNotActive);
            case RecordGrantResult.StatusListFull:
                // Never a token without its status while the list is on: a verifier that polls could not revoke it.
                Broker.StatusList.Log.StatusListFull(logger, allowed.Tenant);
                return new ExchangeOutcome.Rejected(ErrorCatalog.StatusListFull);
            case RecordGrantResult.TaskForbiddenCombination:
                return new ExchangeOutcome.Rejected(ErrorCatalog.ForbiddenCombination);
            case RecordGrantResult.TaskGrantLimit:
                return new ExchangeOutcome.Rejected(ErrorCatalog.TaskGrantLimit);
            case RecordGrantResult.TaskDurationExceeded:
                return new ExchangeOutcome.Rejected(ErrorCatalog.TaskDurationExceeded);
        }

        // The access review's counters: a non-blocking hand-off to a bounded queue, flushed in the background.
        usage.Record(grant, subject);

        // :: Step 4. Mint, with the status list reference the store allocated (draft-ietf-oauth-status-list §6.2).
        string token;
        using (ExchangeTelemetry.StartStep("mint"))
        {
            token = issuer.Issue(new CapabilityTokenRequest(
                grantId, subject.Id, clientId, allowed.Audience, allowed.Capabilities, allowed.Tenant,
                taskId, request.Purpose, allowed.ActorChain, issuedAt, expiresAt, subject.CertificateThumbprint,
                recorded.StatusIndex is { } index ? new StatusListReference(index, statusLists.For(allowed.Tenant)) : null,
                subject.ProofKeyThumbprint)
            {
                Caller = allowed.Caller,
                ConsumerTenant = allowed.ConsumerTenant,
            });
        }

        // The grant's own event is the request's one event.
        auditContext.TryComplete();
        telemetry.Completed(issuedEvent, null, auditContext.StartTimestamp);

        Log.TokenIssued(logger, grantId, allowed.Tenant, subject.Id, lifetimeSeconds);

        // RFC 8693 §2.2.1 names the issued token type; an RFC 6749 §5.1 answer (jwt-bearer) has no such member. RFC 9449
        // §5: a DPoP-bound token is of token_type DPoP; a certificate-bound one stays Bearer (RFC 8705 §3).
        var tokenType = subject.ProofKeyThumbprint is null ? "Bearer" : Broker.Jose.DPoP.DPoPConstants.TokenType;
        return new ExchangeOutcome.Issued(
            new TokenExchangeResponse(
                token, request.IsJwtBearer ? null : request.RequestedTokenType, tokenType, lifetimeSeconds, string.Join(' ', allowed.Capabilities)),
            grant);
    }

    /// <summary>
    /// The DPoP binding of the token to mint, decided from the subject and the proof's key (null: no proof). Null when
    /// the request may go on; the refusal otherwise.
    /// </summary>
    private static ErrorDescriptor? Bind(WorkloadIdentity subject, string? proofKey)
    {
        // A token bound to a DPoP key (RFC 9449 §6.1) is re-exchanged or delegated only with a proof signed by that
        // key, and the new token is bound to it too: narrowing never turns a bound token into a bearer token, nor moves
        // it to another key (the thief of a bound token has no proof to make).
        if (subject.Grant?.JwkThumbprint is { } boundKey)
        {
            if (proofKey is null)
            {
                return ErrorCatalog.DPoPBoundSubjectWithoutProof;
            }

            if (!string.Equals(proofKey, boundKey, StringComparison.Ordinal))
            {
                return ErrorCatalog.DPoPBoundSubjectKeyMismatch;
            }
        }

        // A token has one cnf. A request proven by its TLS client certificate (an X509-SVID subject, or a token bound
        // to one) that also sends a DPoP proof asks for two: refused rather than have the broker pick one silently.
        if (proofKey is not null && subject.CertificateThumbprint is not null)
        {
            return ErrorCatalog.DPoPWithCertificateBinding;
        }

        return null;
    }

    /// <summary>
    /// What the store checks about the grant's task (policy's <c>task_limits</c>), or null when the tenant has no limit
    /// that concerns this grant: then the store neither checks nor counts anything for it.
    /// </summary>
    private static TaskLimitCheck? TaskLimitsOf(PolicyDecision.Allowed allowed)
    {
        if (allowed.TaskLimits is not { } limits)
        {
            return null;
        }

        var check = new TaskLimitCheck
        {
            MaxGrants = limits.MaxGrants,
            MaxDuration = limits.MaxDuration,
            ForbiddenRemainders = allowed.ForbiddenRemainders,
        };
        return check.IsEmpty ? null : check;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}
