using System.Collections.Concurrent;

namespace Broker.Errors;

/// <summary>
/// Every error the broker returns to a caller, by stable reason code. The only source of
/// <c>error_description</c> text (see STYLE: never echo exception text or token content).
/// </summary>
internal static class ErrorCatalog
{
    // :: The HTTP request and its form (RFC 6749 §3.2, §5.2), the same on every OAuth endpoint.
    public static readonly ErrorDescriptor MethodNotAllowed = new("request.method_not_allowed", OAuthErrors.InvalidRequest, "This endpoint accepts POST only.", StatusCodes.Status405MethodNotAllowed);
    public static readonly ErrorDescriptor QueryNotAllowed = new("request.query_string", OAuthErrors.InvalidRequest, "Send the parameters in the request body, never in the URL query.");
    public static readonly ErrorDescriptor MissingContentType = new("request.missing_content_type", OAuthErrors.InvalidRequest, "The request needs Content-Type: application/x-www-form-urlencoded.");
    public static readonly ErrorDescriptor NotForm = new("request.content_type", OAuthErrors.InvalidRequest, "The request body must be application/x-www-form-urlencoded.");
    public static readonly ErrorDescriptor UnsupportedCharset = new("request.charset", OAuthErrors.InvalidRequest, "The form must be encoded in UTF-8: charset, when sent, must be utf-8.");
    public static readonly ErrorDescriptor FormTooLarge = new("request.too_large", OAuthErrors.InvalidRequest, "The request is larger than the broker accepts.", StatusCodes.Status413PayloadTooLarge);
    public static readonly ErrorDescriptor FormNotUtf8 = new("request.invalid_utf8", OAuthErrors.InvalidRequest, "The request body is not valid UTF-8.");
    public static readonly ErrorDescriptor FormMalformed = new("request.malformed", OAuthErrors.InvalidRequest, "The request body could not be read as a form.");
    public static readonly ErrorDescriptor TooManyParameters = new("request.too_many_parameters", OAuthErrors.InvalidRequest, "The request has more parameters than the broker accepts.");
    public static readonly ErrorDescriptor DuplicateParameter = new("request.duplicate_parameter", OAuthErrors.InvalidRequest, "A request parameter was sent more than once.");
    public static readonly ErrorDescriptor RequestAborted = new("request.aborted", OAuthErrors.InvalidRequest, "The request was not completed.");
    public static readonly ErrorDescriptor MissingGrantType = new("request.missing_grant_type", OAuthErrors.InvalidRequest, "The grant_type parameter is required.");
    public static readonly ErrorDescriptor UnsupportedGrantType = new("request.unsupported_grant_type", OAuthErrors.UnsupportedGrantType, "Only urn:ietf:params:oauth:grant-type:token-exchange and urn:ietf:params:oauth:grant-type:jwt-bearer are supported.");
    public static readonly ErrorDescriptor MissingSubjectToken = new("request.missing_subject_token", OAuthErrors.InvalidRequest, "The subject_token parameter is required.");
    public static readonly ErrorDescriptor MissingSubjectTokenType = new("request.missing_subject_token_type", OAuthErrors.InvalidRequest, "The subject_token_type parameter is required.");
    public static readonly ErrorDescriptor UnsupportedSubjectTokenType = new("request.unsupported_subject_token_type", OAuthErrors.InvalidRequest, "The subject_token_type is not supported; use urn:ietf:params:oauth:token-type:jwt, id_token or access_token.");
    public static readonly ErrorDescriptor SubjectTokenTooLarge = new("request.subject_token_too_large", OAuthErrors.InvalidRequest, "The subject_token is longer than the broker accepts.");
    public static readonly ErrorDescriptor ActorTokenTypeWithoutToken = new("request.actor_token_type_without_token", OAuthErrors.InvalidRequest, "actor_token_type was sent without actor_token.");
    public static readonly ErrorDescriptor ActorTokenWithoutType = new("request.actor_token_without_type", OAuthErrors.InvalidRequest, "actor_token requires actor_token_type.");
    public static readonly ErrorDescriptor UnsupportedActorTokenType = new("request.unsupported_actor_token_type", OAuthErrors.InvalidRequest, "The actor_token_type is not supported; use urn:ietf:params:oauth:token-type:jwt, id_token or access_token.");
    public static readonly ErrorDescriptor ActorTokenTooLarge = new("request.actor_token_too_large", OAuthErrors.InvalidRequest, "The actor_token is longer than the broker accepts.");
    public static readonly ErrorDescriptor UnsupportedRequestedTokenType = new("request.unsupported_requested_token_type", OAuthErrors.InvalidRequest, "Only access_token or jwt can be requested.");
    public static readonly ErrorDescriptor MissingScope = new("request.missing_scope", OAuthErrors.InvalidScope, "The scope parameter is required: name the capabilities this task needs.");
    public static readonly ErrorDescriptor MalformedScope = new("request.malformed_scope", OAuthErrors.InvalidScope, "The scope parameter is not a space-separated list of capability names.");
    public static readonly ErrorDescriptor TooManyScopes = new("request.too_many_scopes", OAuthErrors.InvalidScope, "The request names more capabilities than the broker accepts in one token.");
    public static readonly ErrorDescriptor MissingTarget = new("request.missing_target", OAuthErrors.InvalidTarget, "Name the MCP server with the resource or audience parameter.");
    public static readonly ErrorDescriptor MultipleTargets = new("request.multiple_targets", OAuthErrors.InvalidTarget, "A token is issued for one resource and at most one audience.");
    public static readonly ErrorDescriptor MalformedResource = new("request.malformed_resource", OAuthErrors.InvalidTarget, "The resource parameter must be an absolute https URI without a fragment (RFC 8707).");
    public static readonly ErrorDescriptor MalformedAudience = new("request.malformed_audience", OAuthErrors.InvalidTarget, "The audience parameter is empty or too long.");
    public static readonly ErrorDescriptor MissingTaskId = new("request.missing_task_id", OAuthErrors.InvalidRequest, "The task_id parameter is required.");
    public static readonly ErrorDescriptor MalformedTaskId = new("request.malformed_task_id", OAuthErrors.InvalidRequest, "task_id must be 1-128 characters of A-Z a-z 0-9 . _ : / -.");
    public static readonly ErrorDescriptor MissingPurpose = new("request.missing_purpose", OAuthErrors.InvalidRequest, "The purpose parameter is required.");
    public static readonly ErrorDescriptor MalformedPurpose = new("request.malformed_purpose", OAuthErrors.InvalidRequest, "purpose must be 1-128 characters of A-Z a-z 0-9 . _ : / -.");
    public static readonly ErrorDescriptor MalformedExpiresIn = new("request.malformed_expires_in", OAuthErrors.InvalidRequest, "expires_in must be a whole number of seconds greater than zero.");
    public static readonly ErrorDescriptor MissingAssertion = new("request.missing_assertion", OAuthErrors.InvalidRequest, "The assertion parameter is required: the workload's JWT-SVID or OIDC token (RFC 7523).");
    public static readonly ErrorDescriptor AssertionTooLarge = new("request.assertion_too_large", OAuthErrors.InvalidRequest, "The assertion is longer than the broker accepts.");
    public static readonly ErrorDescriptor AssertionWithSubjectToken = new("request.jwt_bearer_subject_token", OAuthErrors.InvalidRequest, "subject_token and subject_token_type belong to the token exchange; the jwt-bearer grant sends the workload's JWT as assertion.");
    public static readonly ErrorDescriptor AssertionWithActorToken = new("request.jwt_bearer_actor_token", OAuthErrors.InvalidRequest, "actor_token and actor_token_type belong to the token exchange; delegation is requested with grant_type urn:ietf:params:oauth:grant-type:token-exchange.");
    public static readonly ErrorDescriptor AssertionRequestedTokenType = new("request.jwt_bearer_requested_token_type", OAuthErrors.InvalidRequest, "The jwt-bearer grant issues access tokens only: requested_token_type, when sent, must be urn:ietf:params:oauth:token-type:access_token.");
    public static readonly ErrorDescriptor TaskContextChanged = new("request.task_context_changed", OAuthErrors.InvalidRequest, "A re-exchanged token keeps the task_id and purpose of the token it came from.");

    // :: The subject and actor tokens (RFC 8693 §2.2.2: invalid_grant).
    public static readonly ErrorDescriptor SubjectMalformed = new("subject.malformed", OAuthErrors.InvalidGrant, "The subject_token is not a well-formed signed JWT.");
    public static readonly ErrorDescriptor SubjectUntrustedIssuer = new("subject.untrusted_issuer", OAuthErrors.InvalidGrant, "The subject_token was not issued by an identity source the broker trusts.");
    public static readonly ErrorDescriptor SubjectUnsupportedAlgorithm = new("subject.unsupported_algorithm", OAuthErrors.InvalidGrant, "The subject_token is signed with an algorithm the broker does not accept.");
    public static readonly ErrorDescriptor SubjectInvalidType = new("subject.invalid_type", OAuthErrors.InvalidGrant, "The subject_token has a typ header the broker does not accept for its issuer.");
    public static readonly ErrorDescriptor SubjectMissingKeyId = new("subject.missing_kid", OAuthErrors.InvalidGrant, "The subject_token has no kid header.");
    public static readonly ErrorDescriptor SubjectUnknownKey = new("subject.unknown_key", OAuthErrors.InvalidGrant, "The subject_token is signed with a key its issuer does not publish.");
    public static readonly ErrorDescriptor SubjectInvalidSignature = new("subject.invalid_signature", OAuthErrors.InvalidGrant, "The subject_token signature is not valid.");
    public static readonly ErrorDescriptor SubjectExpired = new("subject.expired", OAuthErrors.InvalidGrant, "The subject_token has expired.");
    public static readonly ErrorDescriptor SubjectNotYetValid = new("subject.not_yet_valid", OAuthErrors.InvalidGrant, "The subject_token is not valid yet.");
    public static readonly ErrorDescriptor SubjectMissingExpiry = new("subject.missing_exp", OAuthErrors.InvalidGrant, "The subject_token has no exp claim.");
    public static readonly ErrorDescriptor SubjectInvalidAudience = new("subject.invalid_audience", OAuthErrors.InvalidGrant, "The subject_token audience does not name this broker.");
    public static readonly ErrorDescriptor SubjectInvalidIssuer = new("subject.invalid_issuer", OAuthErrors.InvalidGrant, "The subject_token issuer does not match its identity source.");
    public static readonly ErrorDescriptor SubjectInvalidSubject = new("subject.invalid_sub", OAuthErrors.InvalidGrant, "The subject_token has no usable sub claim.");
    public static readonly ErrorDescriptor SubjectUnmappable = new("subject.unmappable", OAuthErrors.InvalidGrant, "The subject_token lacks the claims its identity source maps to a workload identity.");
    public static readonly ErrorDescriptor SubjectCarriesDelegation = new("subject.foreign_act", OAuthErrors.InvalidGrant, "Only tokens issued by this broker may carry a delegation chain (act).");
    public static readonly ErrorDescriptor SubjectGrantNotActive = new("subject.grant_not_active", OAuthErrors.InvalidGrant, "The subject_token's grant is revoked or unknown.");
    public static readonly ErrorDescriptor SubjectIssuerUnavailable = new("subject.issuer_unavailable", OAuthErrors.InvalidGrant, "The subject_token's issuer keys could not be obtained; try again later.");
    public static readonly ErrorDescriptor SubjectNoClientCertificate = new("subject.no_client_certificate", OAuthErrors.InvalidGrant, "This subject_token_type needs a TLS client certificate (an X509-SVID) on the connection.");
    public static readonly ErrorDescriptor SubjectCertificateMismatch = new("subject.certificate_mismatch", OAuthErrors.InvalidGrant, "The subject_token is not the x5t#S256 of the TLS client certificate.");
    public static readonly ErrorDescriptor SubjectCertificateInvalid = new("subject.certificate_invalid", OAuthErrors.InvalidGrant, "The TLS client certificate is not a valid X509-SVID of a trusted trust domain.");
    public static readonly ErrorDescriptor SubjectBindingMismatch = new("subject.binding_mismatch", OAuthErrors.InvalidGrant, "The subject_token is bound to a client certificate that is not on this connection.");
    public static readonly ErrorDescriptor ActorInvalid = new("actor.invalid", OAuthErrors.InvalidGrant, "The actor_token is not valid.");

    // :: The strict compact-JWS gate (Broker.Jose), before any key lookup or claim use: one reason per rule.
    public static readonly ErrorDescriptor SubjectMalformedEncoding = new("subject.malformed_base64url", OAuthErrors.InvalidGrant, "The subject_token is not in canonical, unpadded base64url.");
    public static readonly ErrorDescriptor SubjectMalformedJson = new("subject.malformed_json", OAuthErrors.InvalidGrant, "The subject_token header or claims are not a JSON object in UTF-8.");
    public static readonly ErrorDescriptor SubjectTrailingData = new("subject.trailing_data", OAuthErrors.InvalidGrant, "The subject_token header or claims have data after the JSON object.");
    public static readonly ErrorDescriptor SubjectDuplicateMember = new("subject.duplicate_member", OAuthErrors.InvalidGrant, "The subject_token header or claims repeat a member name.");
    public static readonly ErrorDescriptor SubjectCriticalHeader = new("subject.critical_header", OAuthErrors.InvalidGrant, "The subject_token has a crit header; the broker understands no critical extension.");
    public static readonly ErrorDescriptor SubjectInvalidClaimType = new("subject.invalid_claim_type", OAuthErrors.InvalidGrant, "A header parameter or claim of the subject_token (such as kid, iss, sub or aud) has the wrong JSON type.");
    public static readonly ErrorDescriptor SubjectInvalidNumericDate = new("subject.invalid_numeric_date", OAuthErrors.InvalidGrant, "The subject_token's exp, nbf or iat is not a number of seconds between 1970 and 9999.");
    public static readonly ErrorDescriptor SubjectKeyAlgorithmMismatch = new("subject.key_algorithm_mismatch", OAuthErrors.InvalidGrant, "The subject_token's alg does not fit the type, curve or size of its signing key.");

    /// <summary>An actor token of this broker: actors present their own workload credential, never a capability token.</summary>
    public static readonly ErrorDescriptor ActorBrokerToken = new("actor.broker_token", OAuthErrors.InvalidGrant, "The actor_token must be the actor's own workload credential, not a token issued by this broker.");

    /// <summary>An assertion of this broker: the jwt-bearer grant takes a workload credential, never a capability token.</summary>
    public static readonly ErrorDescriptor AssertionBrokerToken = new("assertion.broker_token", OAuthErrors.InvalidGrant, "The assertion must be the workload's own JWT-SVID or OIDC token, not a token issued by this broker; narrow or delegate one with the token exchange.");

    private static readonly ConcurrentDictionary<string, ErrorDescriptor> ActorReasons = new(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, ErrorDescriptor> AssertionReasons = new(StringComparer.Ordinal);

    /// <summary>
    /// The audit reason for an actor_token refused for <paramref name="subjectReason"/>: <c>actor.expired</c> for
    /// <c>subject.expired</c> and so on. The caller sees exactly what <see cref="ActorInvalid"/> says; only the trail
    /// keeps the precise reason. Bounded: one entry per catalog reason.
    /// </summary>
    public static ErrorDescriptor ForActor(ErrorDescriptor subjectReason)
    {
        ArgumentNullException.ThrowIfNull(subjectReason);
        const string prefix = "subject.";
        return subjectReason.Reason.StartsWith(prefix, StringComparison.Ordinal)
            ? ActorReasons.GetOrAdd(subjectReason.Reason, static reason => ActorInvalid with { Reason = "actor." + reason[prefix.Length..] })
            : ActorInvalid;
    }

    /// <summary>
    /// A jwt-bearer assertion refused for <paramref name="subjectReason"/>: the assertion is that grant's subject
    /// token and meets the same checks, so the refusal is the same one (<c>invalid_grant</c>, RFC 7523 §3.1), with
    /// the reason <c>assertion.expired</c> for <c>subject.expired</c> and so on, and a description that names the
    /// parameter the client sent. Reasons outside <c>subject.</c> are returned as they are. Bounded: one entry per
    /// catalog reason.
    /// </summary>
    public static ErrorDescriptor ForAssertion(ErrorDescriptor subjectReason)
    {
        ArgumentNullException.ThrowIfNull(subjectReason);
        const string prefix = "subject.";
        return subjectReason.Reason.StartsWith(prefix, StringComparison.Ordinal)
            ? AssertionReasons.GetOrAdd(subjectReason.Reason, static (reason, descriptor) => descriptor with
            {
                Reason = "assertion." + reason[prefix.Length..],
                Description = descriptor.Description.Replace("subject_token", "assertion", StringComparison.Ordinal),
            }, subjectReason)
            : subjectReason;
    }

    // :: Policy (deny by default).
    public static readonly ErrorDescriptor NoTenant = new("policy.no_tenant", OAuthErrors.InvalidGrant, "No tenant accepts this workload identity.");
    public static readonly ErrorDescriptor AmbiguousTenant = new("policy.ambiguous_tenant", OAuthErrors.InvalidGrant, "More than one tenant accepts this workload identity; the policy must be made unambiguous.");
    public static readonly ErrorDescriptor ScopeNotAllowed = new("policy.scope_not_allowed", OAuthErrors.InvalidScope, "One or more requested capabilities are not allowed for this workload, task and purpose.");
    public static readonly ErrorDescriptor ScopeBeyondSubjectToken = new("policy.scope_beyond_subject_token", OAuthErrors.InvalidScope, "A re-exchange can only narrow: a requested capability is not in the subject token.");
    public static readonly ErrorDescriptor TargetMismatch = new("policy.target_mismatch", OAuthErrors.InvalidTarget, "The requested capabilities do not live on the requested resource or audience.");
    public static readonly ErrorDescriptor TargetBeyondSubjectToken = new("policy.target_beyond_subject_token", OAuthErrors.InvalidTarget, "A re-exchange can only narrow: the target differs from the subject token's audience.");
    /// <summary>
    /// A capability or tenant that requires proof of possession, asked for by a bearer request. <c>invalid_request</c>
    /// (RFC 6749 §5.2: the request lacks something required), not <c>invalid_dpop_proof</c>: RFC 9449 §5 registers that
    /// for a proof that fails the checks of §4.3, and here there is no proof to fail.
    /// </summary>
    public static readonly ErrorDescriptor ProofOfPossessionRequired = new("policy.pop_required", OAuthErrors.InvalidRequest, "A requested capability requires a sender-constrained token: send a DPoP proof (RFC 9449) in the DPoP header, or exchange an X509-SVID over mutual TLS.");
    public static readonly ErrorDescriptor ActorNotAllowed = new("policy.actor_not_allowed", OAuthErrors.UnauthorizedClient, "The actor is not allowed to act for this subject.");
    public static readonly ErrorDescriptor ActorOtherTenant = new("policy.actor_other_tenant", OAuthErrors.UnauthorizedClient, "The actor belongs to another tenant.");
    public static readonly ErrorDescriptor DelegationTooDeep = new("policy.delegation_too_deep", OAuthErrors.UnauthorizedClient, "The delegation chain would be longer than the policy allows.");

    // :: External decision points (OpenID AuthZEN 1.0) that rules delegate to: a deny, and no decision (fail closed).
    public static readonly ErrorDescriptor AuthZenDenied = new("authzen.denied", OAuthErrors.InvalidScope, "The tenant's policy decision point did not permit one or more requested capabilities.");
    public static readonly ErrorDescriptor AuthZenUnavailable = new("authzen.unavailable", OAuthErrors.TemporarilyUnavailable, "The tenant's policy decision point could not decide on a requested capability; try again shortly.", StatusCodes.Status503ServiceUnavailable);

    // :: Approval paths by caller (caller: on a capability or rule) and task limits (task_limits:), docs/policy.md. Who
    // may hold a capability is a question of scope (invalid_scope), as for ScopeNotAllowed; the shape of the delegation
    // chain one of delegation (unauthorized_client), as for DelegationTooDeep; a missing purpose or a task that is over,
    // one of the request (invalid_request).
    public static readonly ErrorDescriptor HumanPrincipalRequired = new("policy.human_principal_required", OAuthErrors.InvalidScope, "A requested capability needs a human principal: exchange the user's token as subject_token, with the agent's own token as actor_token.");
    public static readonly ErrorDescriptor WorkloadPrincipalRequired = new("policy.workload_principal_required", OAuthErrors.InvalidScope, "A requested capability is granted to workloads only: the subject_token must be a workload's.");
    public static readonly ErrorDescriptor AutonomousCallerRefused = new("policy.autonomous_caller", OAuthErrors.InvalidScope, "A requested capability is not granted to autonomous callers: a human must be in the chain, as subject or as actor.");
    public static readonly ErrorDescriptor CallerChainTooLong = new("policy.caller_chain_too_long", OAuthErrors.UnauthorizedClient, "The delegation chain has more actors than a requested capability allows.");
    public static readonly ErrorDescriptor ActorKindNotAllowed = new("policy.actor_kind_not_allowed", OAuthErrors.UnauthorizedClient, "An actor in the delegation chain is of a kind (human or workload) a requested capability does not allow.");
    public static readonly ErrorDescriptor PurposeRequired = new("policy.purpose_required", OAuthErrors.InvalidRequest, "A requested capability requires a purpose: send the purpose parameter.");
    public static readonly ErrorDescriptor ForbiddenCombination = new("task.forbidden_combination", OAuthErrors.InvalidScope, "Policy forbids one task to hold these capabilities together with those its live grants already hold.");
    public static readonly ErrorDescriptor TaskGrantLimit = new("task.grant_limit", OAuthErrors.InvalidRequest, "This task has had as many grants as policy allows one task.");
    public static readonly ErrorDescriptor TaskDurationExceeded = new("task.duration_exceeded", OAuthErrors.InvalidRequest, "This task began longer ago than policy lets one task run: no more grants for it.");

    // :: DPoP proofs at the token endpoint (RFC 9449 §4.3, §5, §8): one reason per failed check, invalid_dpop_proof for
    // the proof, use_dpop_nonce (with a DPoP-Nonce header) when the server nonce is missing, stale or wrong.
    public static readonly ErrorDescriptor DPoPMissingProof = new("dpop.missing_proof", DPoPErrors.InvalidProof, "The DPoP header is empty.");
    public static readonly ErrorDescriptor DPoPMultipleProofs = new("dpop.multiple_proofs", DPoPErrors.InvalidProof, "Send exactly one DPoP header holding one proof.");
    public static readonly ErrorDescriptor DPoPOversizedProof = new("dpop.oversized_proof", DPoPErrors.InvalidProof, "The DPoP proof is longer than the broker accepts.");
    public static readonly ErrorDescriptor DPoPMalformedProof = new("dpop.malformed_proof", DPoPErrors.InvalidProof, "The DPoP proof is not a well-formed signed JWT.");
    public static readonly ErrorDescriptor DPoPBadType = new("dpop.bad_typ", DPoPErrors.InvalidProof, "The DPoP proof's typ must be dpop+jwt.");
    public static readonly ErrorDescriptor DPoPDisallowedAlgorithm = new("dpop.disallowed_alg", DPoPErrors.InvalidProof, "The DPoP proof is signed with an algorithm the broker does not accept; see dpop_signing_alg_values_supported.");
    public static readonly ErrorDescriptor DPoPMissingJwk = new("dpop.missing_jwk", DPoPErrors.InvalidProof, "The DPoP proof's header has no jwk.");
    public static readonly ErrorDescriptor DPoPBadJwk = new("dpop.bad_jwk", DPoPErrors.InvalidProof, "The DPoP proof's jwk is not a public EC or RSA signing key the broker accepts.");
    public static readonly ErrorDescriptor DPoPPrivateKeyInJwk = new("dpop.private_key_in_jwk", DPoPErrors.InvalidProof, "The DPoP proof's jwk contains private key material.");
    public static readonly ErrorDescriptor DPoPAlgorithmKeyMismatch = new("dpop.alg_key_mismatch", DPoPErrors.InvalidProof, "The DPoP proof's alg does not fit the type or curve of its jwk.");
    public static readonly ErrorDescriptor DPoPBadSignature = new("dpop.bad_signature", DPoPErrors.InvalidProof, "The DPoP proof's signature does not verify with its jwk.");
    public static readonly ErrorDescriptor DPoPMissingClaim = new("dpop.missing_claim", DPoPErrors.InvalidProof, "The DPoP proof lacks jti, htm, htu or iat.");
    public static readonly ErrorDescriptor DPoPInvalidClaim = new("dpop.invalid_claim", DPoPErrors.InvalidProof, "A claim of the DPoP proof has the wrong type, or is empty or too long.");
    public static readonly ErrorDescriptor DPoPWrongHtm = new("dpop.wrong_htm", DPoPErrors.InvalidProof, "The DPoP proof's htm is not this request's method (POST).");
    public static readonly ErrorDescriptor DPoPWrongHtu = new("dpop.wrong_htu", DPoPErrors.InvalidProof, "The DPoP proof's htu is not this token endpoint's URL as the authorization server metadata names it.");
    public static readonly ErrorDescriptor DPoPStaleIssuedAt = new("dpop.stale_iat", DPoPErrors.InvalidProof, "The DPoP proof is too old: make a fresh proof for every request.");
    public static readonly ErrorDescriptor DPoPFutureIssuedAt = new("dpop.future_iat", DPoPErrors.InvalidProof, "The DPoP proof's iat is in the future.");
    public static readonly ErrorDescriptor DPoPMissingAth = new("dpop.missing_ath", DPoPErrors.InvalidProof, "The DPoP proof lacks the ath of the access token sent with it.");
    public static readonly ErrorDescriptor DPoPWrongAth = new("dpop.wrong_ath", DPoPErrors.InvalidProof, "The DPoP proof's ath is not the hash of the access token sent with it.");
    public static readonly ErrorDescriptor DPoPMissingNonce = new("dpop.missing_nonce", DPoPErrors.UseNonce, "The broker requires a nonce in DPoP proofs: retry with the one in the DPoP-Nonce header.");
    public static readonly ErrorDescriptor DPoPWrongNonce = new("dpop.wrong_nonce", DPoPErrors.UseNonce, "The DPoP proof's nonce was not issued by this broker: retry with the one in the DPoP-Nonce header.");
    public static readonly ErrorDescriptor DPoPStaleNonce = new("dpop.stale_nonce", DPoPErrors.UseNonce, "The DPoP proof's nonce has expired: retry with the one in the DPoP-Nonce header.");
    public static readonly ErrorDescriptor DPoPReplayedJti = new("dpop.replayed_jti", DPoPErrors.InvalidProof, "This DPoP proof was already used: make a fresh proof, with a new jti, for every request.");
    public static readonly ErrorDescriptor DPoPReplayCacheUnavailable = new("dpop.replay_cache_unavailable", OAuthErrors.TemporarilyUnavailable, "The broker cannot check DPoP proofs for replay right now; try again shortly.", StatusCodes.Status503ServiceUnavailable);
    public static readonly ErrorDescriptor DPoPNonceUnavailable = new("dpop.nonce_unavailable", OAuthErrors.TemporarilyUnavailable, "The broker cannot check DPoP nonces right now; try again shortly.", StatusCodes.Status503ServiceUnavailable);

    /// <summary>A subject token bound to a DPoP key (<c>cnf.jkt</c>), re-exchanged without a proof: the binding is never dropped.</summary>
    public static readonly ErrorDescriptor DPoPBoundSubjectWithoutProof = new("dpop.bound_subject_without_proof", DPoPErrors.InvalidProof, "The subject_token is bound to a DPoP key: send a DPoP proof signed with that key.");

    /// <summary>A subject token bound to a DPoP key, re-exchanged with a proof of another key (RFC 9449 §4.3 step 12, by analogy).</summary>
    public static readonly ErrorDescriptor DPoPBoundSubjectKeyMismatch = new("dpop.bound_subject_key_mismatch", DPoPErrors.InvalidProof, "The DPoP proof is signed with another key than the one the subject_token is bound to.");

    /// <summary>A certificate-bound request (RFC 8705) that also carries a DPoP proof: a token is bound to one key, so the ambiguity is refused.</summary>
    public static readonly ErrorDescriptor DPoPWithCertificateBinding = new("dpop.certificate_bound", OAuthErrors.InvalidRequest, "This token would be bound to the TLS client certificate (RFC 8705); a token has one binding, so send no DPoP proof with it.");

    /// <summary>The entry of a DPoP proof refusal (<see cref="Broker.Jose.DPoP.DPoPProofError"/>), one per reason.</summary>
    public static ErrorDescriptor ForDPoP(Broker.Jose.DPoP.DPoPProofError error) => error switch
    {
        Broker.Jose.DPoP.DPoPProofError.MissingProof => DPoPMissingProof,
        Broker.Jose.DPoP.DPoPProofError.MultipleProofs => DPoPMultipleProofs,
        Broker.Jose.DPoP.DPoPProofError.OversizedProof => DPoPOversizedProof,
        Broker.Jose.DPoP.DPoPProofError.MalformedProof => DPoPMalformedProof,
        Broker.Jose.DPoP.DPoPProofError.BadType => DPoPBadType,
        Broker.Jose.DPoP.DPoPProofError.DisallowedAlgorithm => DPoPDisallowedAlgorithm,
        Broker.Jose.DPoP.DPoPProofError.MissingJwk => DPoPMissingJwk,
        Broker.Jose.DPoP.DPoPProofError.BadJwk => DPoPBadJwk,
        Broker.Jose.DPoP.DPoPProofError.PrivateKeyInJwk => DPoPPrivateKeyInJwk,
        Broker.Jose.DPoP.DPoPProofError.AlgorithmKeyMismatch => DPoPAlgorithmKeyMismatch,
        Broker.Jose.DPoP.DPoPProofError.BadSignature => DPoPBadSignature,
        Broker.Jose.DPoP.DPoPProofError.MissingClaim => DPoPMissingClaim,
        Broker.Jose.DPoP.DPoPProofError.InvalidClaim => DPoPInvalidClaim,
        Broker.Jose.DPoP.DPoPProofError.WrongHtm => DPoPWrongHtm,
        Broker.Jose.DPoP.DPoPProofError.WrongHtu => DPoPWrongHtu,
        Broker.Jose.DPoP.DPoPProofError.StaleIssuedAt => DPoPStaleIssuedAt,
        Broker.Jose.DPoP.DPoPProofError.FutureIssuedAt => DPoPFutureIssuedAt,
        Broker.Jose.DPoP.DPoPProofError.MissingAth => DPoPMissingAth,
        Broker.Jose.DPoP.DPoPProofError.WrongAth => DPoPWrongAth,
        Broker.Jose.DPoP.DPoPProofError.MissingNonce => DPoPMissingNonce,
        Broker.Jose.DPoP.DPoPProofError.WrongNonce => DPoPWrongNonce,
        Broker.Jose.DPoP.DPoPProofError.StaleNonce => DPoPStaleNonce,
        Broker.Jose.DPoP.DPoPProofError.ReplayedJti => DPoPReplayedJti,
        Broker.Jose.DPoP.DPoPProofError.ReplayCacheUnavailable => DPoPReplayCacheUnavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, "An accepted proof has no error entry."),
    };

    // :: The broker itself.
    public static readonly ErrorDescriptor StoreUnavailable = new("server.store_unavailable", OAuthErrors.TemporarilyUnavailable, "The broker cannot record grants right now; try again shortly.", StatusCodes.Status503ServiceUnavailable);
    public static readonly ErrorDescriptor ServerError = new("server.exception", OAuthErrors.ServerError, "The broker could not complete the request.", StatusCodes.Status500InternalServerError);
    public static readonly ErrorDescriptor PolicyUnavailable = new("server.policy_unavailable", OAuthErrors.TemporarilyUnavailable, "The broker has no policy loaded.", StatusCodes.Status503ServiceUnavailable);

    // :: The admin API and introspection (RFC 6750 §3 for the bearer credential).
    public static readonly ErrorDescriptor AdminUnauthenticated = new("admin.unauthenticated", "invalid_token", "Send an admin workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor AdminForbidden = new("admin.forbidden", "insufficient_scope", "This identity may not administer that tenant.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor AdminNotFound = new("admin.not_found", "not_found", "No such grant, or it has expired.", StatusCodes.Status404NotFound);
    public static readonly ErrorDescriptor AdminInvalidListQuery = new("admin.invalid_list_query", OAuthErrors.InvalidRequest, "Name a tenant, at most one of subject or task_id, and a limit of 1-1000.");
    public static readonly ErrorDescriptor AdminInvalidCursor = new("admin.invalid_cursor", OAuthErrors.InvalidRequest, "The cursor is not valid for this query.");
    public static readonly ErrorDescriptor AdminInvalidRevokeBody = new("admin.invalid_revoke_body", OAuthErrors.InvalidRequest, "The body must be {\"reason\": \"…\"} with a reason of 1-256 characters.");
    public static readonly ErrorDescriptor AdminInvalidBulkRevokeBody = new("admin.invalid_bulk_revoke_body", OAuthErrors.InvalidRequest, "The body must name a tenant, at most one of subject or task_id, and a reason of 1-256 characters.");
    public static readonly ErrorDescriptor AdminInvalidAuditQuery = new("admin.invalid_audit_query", OAuthErrors.InvalidRequest, "limit must be 1-1000.");
    public static readonly ErrorDescriptor AdminInvalidReviewQuery = new("admin.invalid_review_query", OAuthErrors.InvalidRequest, "Name one tenant, and at most one days of 1 to the broker's retention (90 by default).");
    // :: Signing keys at the admin API (/admin/v1/keys; global admins only).
    public static readonly ErrorDescriptor KeysForbidden = new("admin.keys_forbidden", "insufficient_scope", "Only global admins (Broker:Admin:GlobalAdmins) may manage signing keys.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor KeyNotFound = new("keys.not_found", "not_found", "No key with that kid is in the ring; 'brokerctl keys list' shows them.", StatusCodes.Status404NotFound);
    public static readonly ErrorDescriptor KeyIsActive = new("keys.active_key", OAuthErrors.InvalidRequest, "The active key cannot be retired: rotate first ('brokerctl keys rotate'), then retire it.", StatusCodes.Status409Conflict);
    public static readonly ErrorDescriptor KeyActivatesSoon = new("keys.activates_soon", OAuthErrors.InvalidRequest, "That key is about to sign and some replicas may not learn of its retirement in time; rotate, then retire it.", StatusCodes.Status409Conflict);
    public static readonly ErrorDescriptor KeysFromFiles = new("keys.static_ring", OAuthErrors.InvalidRequest, "The signing keys are read from PEM files (Broker:Keys:Store=Files): replace the files and restart, or use Broker:Keys:Store=Redis to rotate.", StatusCodes.Status409Conflict);
    public static readonly ErrorDescriptor KeysBusy = new("keys.busy", OAuthErrors.TemporarilyUnavailable, "Another replica is changing the key ring; try again shortly.", StatusCodes.Status503ServiceUnavailable);
    public static readonly ErrorDescriptor KeysUnavailable = new("keys.unavailable", OAuthErrors.TemporarilyUnavailable, "The key ring in Redis cannot be reached right now; try again shortly.", StatusCodes.Status503ServiceUnavailable);
    public static readonly ErrorDescriptor IntrospectionUnauthenticated = new("introspect.unauthenticated", "invalid_token", "Send your workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor IntrospectionMissingToken = new("introspect.missing_token", OAuthErrors.InvalidRequest, "The token parameter is required, once.");
    public static readonly ErrorDescriptor IntrospectionForbidden = new("introspect.forbidden", "insufficient_scope", "This identity belongs to no tenant of this broker.", StatusCodes.Status403Forbidden);

    // :: The revocation feed (GET /revocations/v1/events, server-sent events).
    public static readonly ErrorDescriptor FeedUnauthenticated = new("feed.unauthenticated", "invalid_token", "Send your workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor FeedForbidden = new("feed.forbidden", "insufficient_scope", "This identity belongs to no tenant of this broker.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor FeedNotAcceptable = new("feed.not_acceptable", OAuthErrors.InvalidRequest, "The revocation feed is served only as 'Accept: text/event-stream'.", StatusCodes.Status406NotAcceptable);
    public static readonly ErrorDescriptor FeedInvalidLastEventId = new("feed.invalid_last_event_id", OAuthErrors.InvalidRequest, "Last-Event-ID must be, once, the id of an event this broker sent.");
    public static readonly ErrorDescriptor FeedTooManyConnections = new("feed.too_many_connections", OAuthErrors.TemporarilyUnavailable, "This broker replica serves as many revocation feeds as it may; reconnect after the Retry-After delay.", StatusCodes.Status503ServiceUnavailable);

    // :: The capability catalog (/catalog/v1, docs/catalog.md) and the exchange's publishing requirement.
    public static readonly ErrorDescriptor CapabilityNotPublished = new("catalog.capability_not_published", OAuthErrors.InvalidScope, "A requested capability has no tools published by its MCP server, and this tenant executes published capabilities only.");
    public static readonly ErrorDescriptor CatalogUnauthenticated = new("catalog.unauthenticated", "invalid_token", "Send your workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor CatalogForbidden = new("catalog.forbidden", "insufficient_scope", "This identity belongs to no tenant of this broker.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor CatalogPublishForbidden = new("catalog.publish_forbidden", "insufficient_scope", "No policy rule lets this identity publish every capability this change concerns.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor CatalogLookupForbidden = new("catalog.lookup_forbidden", "insufficient_scope", "Only a publisher of the grant's resource may ask what the grant's subject may discover there.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor CatalogInvalidResource = new("catalog.invalid_resource", OAuthErrors.InvalidRequest, "Name the resource once, as ?resource= and a percent-encoded absolute https URI without a fragment (RFC 8707).");
    public static readonly ErrorDescriptor CatalogUnknownResource = new("catalog.unknown_resource", OAuthErrors.InvalidRequest, "No capability of this tenant's policy lives on that resource.");
    public static readonly ErrorDescriptor CatalogInvalidQuery = new("catalog.invalid_query", OAuthErrors.InvalidRequest, "resource, purpose and grant_id may each appear once: resource an absolute https URI, purpose 1-128 characters of A-Z a-z 0-9 . _ : / -, grant_id a grant ID together with resource.");
    public static readonly ErrorDescriptor CatalogInvalidBody = new("catalog.invalid_body", OAuthErrors.InvalidRequest, "The body must be Content-Type: application/json, {\"tools\": [{\"name\", \"capability\", \"title\", \"description\", \"input_schema_sha256\"}, ...]}, with no other or repeated members.");
    public static readonly ErrorDescriptor CatalogBodyTooLarge = new("catalog.body_too_large", OAuthErrors.InvalidRequest, "The body is larger than the broker accepts (Broker:Catalog:MaxBodyBytes).", StatusCodes.Status413PayloadTooLarge);
    public static readonly ErrorDescriptor CatalogTooManyTools = new("catalog.too_many_tools", OAuthErrors.InvalidRequest, "A publication holds at least one tool and at most Broker:Catalog:MaxTools; unpublish with DELETE.");
    public static readonly ErrorDescriptor CatalogInvalidTool = new("catalog.invalid_tool", OAuthErrors.InvalidRequest, "Each tool needs a name of 1-128 of A-Z a-z 0-9 _ - ., a capability, at most a 256-character title and a description within Broker:Catalog:MaxDescriptionLength (no control characters but line breaks and tabs in the description), and input_schema_sha256 as 64 lower-case hex digits.");
    public static readonly ErrorDescriptor CatalogDuplicateTool = new("catalog.duplicate_tool", OAuthErrors.InvalidRequest, "A tool is listed twice under one capability.");
    public static readonly ErrorDescriptor CatalogCapabilityNotOnResource = new("catalog.capability_not_on_resource", OAuthErrors.InvalidRequest, "A tool names a capability that this tenant's policy does not declare for this resource.");
    public static readonly ErrorDescriptor CatalogToolNotInCapability = new("catalog.tool_not_in_capability", OAuthErrors.InvalidRequest, "A tool is not in its capability's 'tools' list in policy.");
    public static readonly ErrorDescriptor CatalogInvalidPrecondition = new("catalog.invalid_precondition", OAuthErrors.InvalidRequest, "If-Match must be one entity tag the broker sent (\"<version>\") or *, and If-None-Match only *.");
    public static readonly ErrorDescriptor CatalogPreconditionFailed = new("catalog.precondition_failed", OAuthErrors.InvalidRequest, "The resource's catalog entry is not at the version the request's If-Match or If-None-Match expects; read it again.", StatusCodes.Status412PreconditionFailed);
    public static readonly ErrorDescriptor CatalogConflict = new("catalog.conflict", OAuthErrors.InvalidRequest, "The resource's catalog entry kept changing while this request was applied; retry.", StatusCodes.Status409Conflict);
    public static readonly ErrorDescriptor CatalogNotFound = new("catalog.not_found", "not_found", "Nothing this identity may see is published on that resource.", StatusCodes.Status404NotFound);
    public static readonly ErrorDescriptor CatalogGrantNotFound = new("catalog.grant_not_found", "not_found", "No active grant with that ID for that resource in this tenant.", StatusCodes.Status404NotFound);

    // :: The status list (GET /statuslists/v1/{tenant}, draft-ietf-oauth-status-list) and its allocation.
    public static readonly ErrorDescriptor StatusListFull = new("server.status_list_full", OAuthErrors.TemporarilyUnavailable, "The broker cannot issue more tokens for this tenant right now; try again later.", StatusCodes.Status503ServiceUnavailable);
    public static readonly ErrorDescriptor StatusListNotFound = new("statuslist.not_found", "not_found", "No status list is published at this URL.", StatusCodes.Status404NotFound);
    public static readonly ErrorDescriptor StatusListNotAcceptable = new("statuslist.not_acceptable", OAuthErrors.InvalidRequest, "The status list is served only as 'Accept: application/statuslist+jwt'.", StatusCodes.Status406NotAcceptable);
    public static readonly ErrorDescriptor StatusListMethodNotAllowed = new("statuslist.method_not_allowed", OAuthErrors.InvalidRequest, "This endpoint accepts GET only.", StatusCodes.Status405MethodNotAllowed);

    // :: Workload authentication (the "Workload" scheme, RFC 6750 §3) and rate limits (RFC 6585 §4).
    public static readonly ErrorDescriptor WorkloadUnauthenticated = new("auth.unauthenticated", "invalid_token", "Send your workload token as 'Authorization: Bearer <token>'.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor WorkloadMalformedCredential = new("auth.malformed_credential", "invalid_token", "The Authorization header is not a single 'Bearer <token>' within the length the broker accepts.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor WorkloadCapabilityToken = new("auth.capability_token", "invalid_token", "A capability token of this broker is not a workload credential; send a JWT-SVID or OIDC token.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor WorkloadForbidden = new("auth.forbidden", "insufficient_scope", "This identity may not use this endpoint.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor SubjectSpiffeIdNotAllowed = new("subject.spiffe_id_not_allowed", OAuthErrors.InvalidGrant, "The token's issuer may not issue identities of that SPIFFE trust domain.");
    public static readonly ErrorDescriptor RevocationTaskUnauthenticated = new("revoke.task_unauthenticated", "invalid_token", "revoke_task=true needs the token subject's own workload token as 'Authorization: Bearer <token>'; nothing was revoked.", StatusCodes.Status401Unauthorized);
    public static readonly ErrorDescriptor RevocationTaskForbidden = new("revoke.task_forbidden", "insufficient_scope", "Only the token's own subject may end its whole task; nothing was revoked.", StatusCodes.Status403Forbidden);
    public static readonly ErrorDescriptor RateLimited = new("rate_limited", OAuthErrors.SlowDown, "Too many token requests for this workload or its tenant; retry after the Retry-After delay.", StatusCodes.Status429TooManyRequests);
    public static readonly ErrorDescriptor AuthenticationRateLimited = new("rate_limited.failed_authentication", OAuthErrors.SlowDown, "Too many failed authentications from this address; retry after the Retry-After delay.", StatusCodes.Status429TooManyRequests);
}
