using Broker.Audit;
using Broker.Errors;
using Broker.Policy;
using Broker.Subjects;

namespace Broker.Exchange;

/// <summary>
/// What one request of <c>/oauth2/token</c> has revealed so far, for its one audit event. Created when the request
/// arrives and filled in by each step (the form, the subject, the policy), so whichever step refuses, the event
/// carries everything learned before it. Not thread-safe: it belongs to one request.
/// </summary>
internal sealed class ExchangeAudit(string? clientAddress)
{
    private WorkloadIdentity? _subject;
    private PolicySet? _policy;
    private string? _tenant;
    private bool _tenantResolved;

    /// <summary>When the request arrived (<see cref="System.Diagnostics.Stopwatch"/> ticks), for its duration metric.</summary>
    public long StartTimestamp { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>The caller's address.</summary>
    public string? ClientAddress { get; } = clientAddress;

    /// <summary>SHA-256 of the subject token (or jwt-bearer assertion), once the form named one.</summary>
    public string? SubjectTokenSha256 { get; set; }

    public IReadOnlyList<string> RequestedCapabilities { get; private set; } = [];

    public string? Audience { get; private set; }

    public string? TaskId { get; private set; }

    public string? Purpose { get; private set; }

    /// <summary>The policy version that judged the request, once the subject validated.</summary>
    public string? PolicyVersion { get; set; }

    /// <summary>True once the event was written: a request has exactly one.</summary>
    public bool IsRecorded { get; private set; }

    /// <summary>The validated subject, or null while (or because) it is not.</summary>
    public string? Subject => _subject?.Id;

    /// <summary>The well-formed request: what was asked for.</summary>
    public void Describe(TokenExchangeRequest request, TokenHash subjectHash)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestedCapabilities = request.Capabilities;
        Audience = request.Resource ?? request.Audience;
        TaskId = request.TaskId;
        Purpose = request.Purpose;
        SubjectTokenSha256 = subjectHash.ToString();
    }

    /// <summary>The subject token validated under <paramref name="policy"/>: from now on the event names it.</summary>
    public void SubjectValidated(WorkloadIdentity subject, PolicySet policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _subject = subject;
        _policy = policy;
        PolicyVersion = policy.Version;
    }

    /// <summary>The tenant the policy decided on (it may be known when the decision is a denial).</summary>
    public void TenantDecided(string? tenant)
    {
        _tenant = tenant;
        _tenantResolved = tenant is not null;
    }

    /// <summary>Marks the event written; false when it already was (the caller then writes nothing).</summary>
    public bool TryComplete()
    {
        if (IsRecorded)
        {
            return false;
        }

        IsRecorded = true;
        return true;
    }

    /// <summary>The event of a refusal.</summary>
    public AuditEvent Denied(DateTimeOffset time, ErrorDescriptor reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        return Event(time) with
        {
            Outcome = AuditOutcome.Denied,
            Error = reason.Error,
            Reason = reason.Reason,
        };
    }

    /// <summary>The event of an issuance, before the grant's details are added.</summary>
    public AuditEvent Event(DateTimeOffset time) => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = time,
        Outcome = AuditOutcome.Denied,
        RequestedCapabilities = RequestedCapabilities,
        Audience = Audience,
        TaskId = TaskId,
        Purpose = Purpose,
        ClientAddress = ClientAddress,
        SubjectTokenSha256 = SubjectTokenSha256,
        Subject = _subject?.Id,
        ActorChain = _subject?.Grant?.ActorChain ?? [],
        Tenant = ResolveTenant(),
        PolicyVersion = PolicyVersion,
    };

    /// <summary>
    /// The subject's tenant: the policy's decision when there was one, otherwise resolved here, so a refusal after
    /// validation (a binding mismatch, an actor, the task context) still lands in the tenant's trail. Resolved only
    /// on that path: an issuance already has the decision, and the hot path pays nothing.
    /// </summary>
    private string? ResolveTenant()
    {
        if (!_tenantResolved && _subject is { } subject && _policy is { } policy)
        {
            _tenant = PolicyEvaluator.ResolveTenant(policy, subject).Tenant?.Name;
            _tenantResolved = true;
        }

        return _tenant;
    }
}
