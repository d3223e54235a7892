using Broker.Errors;
using Broker.Policy;

namespace Broker.AuthZen;

/// <summary>
/// The exchange's step after the local policy decision: every capability that policy allowed only through a rule that
/// delegates to a decision point (<see cref="PolicyDecision.Allowed.Delegated"/>) is put to that decision point, and
/// the exchange goes on only if each one permits. Deny by default: a deny is <c>authzen.denied</c>; a decision point
/// that cannot decide (down, slow, erroring, malformed, circuit open) is <c>authzen.unavailable</c>, never a permit.
/// </summary>
/// <remarks>
/// Asynchronous on purpose, and so outside the synchronous <see cref="PolicyEvaluator"/>: the local decision stays a
/// pure function of the policy snapshot, and the network call happens once, after it, only for what it allowed.
/// Several delegated capabilities are evaluated in parallel, so the exchange waits at most the longest timeout.
/// </remarks>
internal sealed class AuthZenGate(DecisionPointClient client, AuthZenDecisionCache cache, ILogger<AuthZenGate> logger)
{
    /// <summary>Null when every delegated capability is permitted; otherwise the refusal.</summary>
    public async ValueTask<ErrorDescriptor?> CheckAsync(
        PolicySet policy,
        PolicyDecision.Allowed allowed,
        WorkloadIdentity subject,
        ExchangeContext request,
        CancellationToken cancellationToken)
    {
        if (allowed.Delegated.Count == 0)
        {
            return null;
        }

        var tenant = policy.Tenants[allowed.Tenant];
        var answers = await Task.WhenAll(allowed.Delegated.Select(d => DecideAsync(d, tenant, allowed, subject, request, cancellationToken)));

        // A deny is final whatever the others said; otherwise any missing decision refuses the exchange.
        return answers.Any(a => a.Verdict == AuthZenVerdict.Deny) ? ErrorCatalog.AuthZenDenied
            : answers.Any(a => a.Verdict == AuthZenVerdict.Unavailable) ? ErrorCatalog.AuthZenUnavailable
            : null;
    }

    private async Task<AuthZenAnswer> DecideAsync(
        DelegatedDecision delegated,
        TenantPolicy tenant,
        PolicyDecision.Allowed allowed,
        WorkloadIdentity subject,
        ExchangeContext request,
        CancellationToken cancellationToken)
    {
        var point = delegated.DecisionPoint;
        var body = AuthZenEvaluationRequest.Build(
            delegated, tenant.Capabilities[delegated.Capability], allowed, subject, request.Capabilities, request.Purpose, request.TaskId);
        var requestId = Guid.NewGuid().ToString("N");

        var answer = cache.Get(point, body) is { } kept
            ? new AuthZenAnswer(kept ? AuthZenVerdict.Permit : AuthZenVerdict.Deny, Cached: true)
            : await client.EvaluateAsync(point, body, requestId, cancellationToken);
        switch (answer.Verdict)
        {
            case AuthZenVerdict.Permit:
                Log.DecisionPointPermitted(logger, point.Tenant, point.Name, delegated.Capability, delegated.Rule, requestId, answer.Cached);
                break;
            case AuthZenVerdict.Deny:
                Log.DecisionPointDenied(logger, point.Tenant, point.Name, delegated.Capability, delegated.Rule, requestId);
                break;
            default:
                Log.DecisionPointUnavailable(logger, point.Tenant, point.Name, delegated.Capability, answer.Failure ?? "unknown", requestId);
                return answer;
        }

        if (!answer.Cached)
        {
            cache.Set(point, body, answer.Verdict == AuthZenVerdict.Permit);
        }

        return answer;
    }
}

/// <summary>
/// What the decision point is told of the request (AuthZEN <c>context</c>): the capabilities asked for, the purpose and
/// the task. Its own record, so the gate does not depend on the exchange that calls it.
/// </summary>
internal sealed record ExchangeContext(IReadOnlyList<string> Capabilities, string Purpose, string? TaskId);
