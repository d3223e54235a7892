using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Subjects;
using Broker.Tokens;

namespace Broker.Exchange;

/// <summary>
/// The exchange pipeline, in fixed order: validate subject → validate actor → policy → mint →
/// record grant (with its audit event) → respond. Exactly one audit event per exchange, written in
/// <c>finally</c> for denials, so no path can skip it.
/// </summary>
internal sealed class TokenExchangeService(
    IPolicyProvider policyProvider,
    SubjectTokenValidator subjects,
    X509SvidSubjectValidator certificates,
    PolicyEvaluator evaluator,
    CapabilityTokenIssuer issuer,
    ExchangeRateLimiter rateLimiter,
    AuditTrail audit,
    TimeProvider timeProvider,
    ILogger<TokenExchangeService> logger)
{
    public async ValueTask<ExchangeOutcome> ExchangeAsync(TokenExchangeRequest request, ExchangeCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var subjectHash = TokenHash.Of(request.SubjectToken);
        var auditEvent = new AuditEvent
        {
            Type = AuditEventTypes.TokenExchange,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Denied,
            RequestedCapabilities = request.Capabilities,
            Audience = request.Resource ?? request.Audience,
            TaskId = request.TaskId,
            Purpose = request.Purpose,
            ClientAddress = caller.Address,
            SubjectTokenSha256 = subjectHash.ToString(),
        };

        ExchangeOutcome? outcome = null;
        try
        {
            outcome = await RunAsync(request, caller, subjectHash, auditEvent, cancellationToken);
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
                var reason = (outcome as ExchangeOutcome.Rejected)?.Reason;
                auditEvent = auditEvent with
                {
                    Time = timeProvider.GetUtcNow(),
                    Error = reason?.Error ?? OAuthErrors.ServerError,
                    Reason = reason?.Reason ?? "server.exception",
                };
                await audit.RecordAsync(auditEvent, CancellationToken.None);
            }
        }
    }

    private async ValueTask<ExchangeOutcome> RunAsync(TokenExchangeRequest request, ExchangeCaller caller, TokenHash subjectHash, AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        var policy = policyProvider.Current;
        if (policy is null)
        {
            return new ExchangeOutcome.Rejected(ErrorCatalog.PolicyUnavailable);
        }

        // :: Step 1. Who is asking for whom.
        var subjectResult = request.SubjectTokenType == X509SvidSubjectValidator.TokenType
            ? certificates.Validate(caller.ClientCertificate, request.SubjectToken, policy)
            : await subjects.ValidateAsync(request.SubjectToken, subjectHash, policy, cancellationToken);
        if (subjectResult is not SubjectValidationResult.Valid { Identity: var subject })
        {
            rateLimiter.AuthenticationFailed(caller);
            return new ExchangeOutcome.Rejected(((SubjectValidationResult.Invalid)subjectResult).Reason);
        }

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

        auditEvent = auditEvent with { Subject = subject.Id, ActorChain = subject.Grant?.ActorChain ?? [] };
        WorkloadIdentity? actor = null;
        if (request.ActorToken is not null)
        {
            var actorResult = await subjects.ValidateAsync(request.ActorToken, TokenHash.Of(request.ActorToken), policy, cancellationToken);
            if (actorResult is not SubjectValidationResult.Valid { Identity: var validActor })
            {
                Log.ActorRejected(logger, ((SubjectValidationResult.Invalid)actorResult).Reason.Reason);
                rateLimiter.AuthenticationFailed(caller);
                return new ExchangeOutcome.Rejected(ErrorCatalog.ActorInvalid);
            }

            actor = validActor;
        }

        // A re-exchanged token stays in its task: narrowing, not re-purposing.
        if (subject.Grant is { } parent && (parent.TaskId != request.TaskId || parent.Purpose != request.Purpose))
        {
            return new ExchangeOutcome.Rejected(ErrorCatalog.TaskContextChanged);
        }

        // :: Step 2. Policy.
        var decision = evaluator.Evaluate(policy, new PolicyRequest(
            subject, actor, request.Capabilities, request.Resource, request.Audience, request.Purpose, request.RequestedLifetime));
        auditEvent = auditEvent with { PolicyVersion = decision.PolicyVersion };
        if (decision is PolicyDecision.Denied denied)
        {
            return new ExchangeOutcome.Rejected(denied.Reason);
        }

        var allowed = (PolicyDecision.Allowed)decision;

        // :: Step 3. Mint. Whole seconds, because exp and iat are NumericDate.
        var issuedAt = TruncateToSeconds(timeProvider.GetUtcNow());
        var lifetimeSeconds = Math.Max(1, (long)allowed.Lifetime.TotalSeconds);
        var expiresAt = issuedAt.AddSeconds(lifetimeSeconds);
        var grantId = GrantId.New(allowed.Tenant);
        var clientId = allowed.ActorChain.Count > 0 ? allowed.ActorChain[0] : subject.Id;
        var token = issuer.Issue(new CapabilityTokenRequest(
            grantId, subject.Id, clientId, allowed.Audience, allowed.Capabilities, allowed.Tenant,
            request.TaskId, request.Purpose, allowed.ActorChain, issuedAt, expiresAt, subject.CertificateThumbprint));

        // :: Step 4. Record before returning: no token leaves without its grant (fail closed).
        var grant = new GrantRecord
        {
            Id = grantId,
            Tenant = allowed.Tenant,
            Subject = subject.Id,
            ClientId = clientId,
            ActorChain = allowed.ActorChain,
            Capabilities = allowed.Capabilities,
            Audience = allowed.Audience,
            TaskId = request.TaskId,
            Purpose = request.Purpose,
            IssuedAt = issuedAt,
            ExpiresAt = expiresAt,
            PolicyVersion = allowed.PolicyVersion,
            ParentGrantId = subject.Grant?.GrantId,
            Binding = subject.CertificateThumbprint is { } thumbprint ? new GrantBinding(null, thumbprint) : null,
        };
        var issuedEvent = auditEvent with
        {
            Time = issuedAt,
            Outcome = AuditOutcome.Allowed,
            Tenant = allowed.Tenant,
            ActorChain = allowed.ActorChain,
            GrantedCapabilities = allowed.Capabilities,
            Audience = allowed.Audience,
            GrantId = grantId,
        };

        try
        {
            await audit.RecordGrantAsync(grant, issuedEvent, cancellationToken);
        }
        catch (GrantStoreUnavailableException)
        {
            Log.GrantNotRecorded(logger, grantId);
            return new ExchangeOutcome.Rejected(ErrorCatalog.StoreUnavailable);
        }

        Log.TokenIssued(logger, grantId, allowed.Tenant, subject.Id, lifetimeSeconds);
        return new ExchangeOutcome.Issued(
            new TokenExchangeResponse(token, request.RequestedTokenType, "Bearer", lifetimeSeconds, string.Join(' ', allowed.Capabilities)),
            grant);
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
}
