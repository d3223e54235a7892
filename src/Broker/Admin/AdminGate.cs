using System.Net.Http.Headers;
using Broker.Audit;
using Broker.Errors;
using Broker.Policy;
using Broker.Subjects;
using Microsoft.Extensions.Options;

namespace Broker.Admin;

/// <summary>
/// Authenticates an admin from <c>Authorization: Bearer</c> (a workload identity the broker already
/// trusts: a JWT-SVID or an OIDC token, never one of our own capability tokens) and authorises the
/// action against policy. Every refusal is audited with whatever identity was proven.
/// </summary>
internal sealed class AdminGate
{
    private readonly IPolicyProvider _policy;
    private readonly SubjectTokenValidator _subjects;
    private readonly AuditTrail _audit;
    private readonly TimeProvider _timeProvider;
    private readonly IReadOnlyList<SubjectPattern> _globalAdmins;
    private readonly int _maxTokenLength;

    public AdminGate(IPolicyProvider policy, SubjectTokenValidator subjects, AuditTrail audit, TimeProvider timeProvider, IOptions<AdminOptions> options, IOptions<SubjectsOptions> subjectsOptions)
    {
        _maxTokenLength = subjectsOptions.Value.MaxTokenLength;
        _policy = policy;
        _subjects = subjects;
        _audit = audit;
        _timeProvider = timeProvider;
        _globalAdmins = [.. options.Value.GlobalAdmins.Select(p => SubjectPattern.TryCompile(p, out var compiled, out _) ? compiled! : throw new InvalidOperationException("validated at start"))];
    }

    /// <summary>Authenticates and authorises for <paramref name="tenant"/> (null: across tenants, global admins only).</summary>
    public async ValueTask<(AdminPrincipal? Admin, IResult? Error)> AuthorizeAsync(HttpContext context, string? tenant, string action, CancellationToken cancellationToken)
    {
        var (admin, error) = await AuthenticateAsync(context, action, tenant, cancellationToken);
        if (admin is null)
        {
            return (null, error);
        }

        if (!MayAdminister(admin, tenant))
        {
            await AuditAsync(context, action, admin.Id, tenant, AuditOutcome.Denied, "admin.forbidden");
            return (null, ErrorWriter.Result(ErrorCatalog.AdminForbidden));
        }

        return (admin, null);
    }

    /// <summary>Who is calling, or the 401 to answer with.</summary>
    public async ValueTask<(AdminPrincipal? Admin, IResult? Error)> AuthenticateAsync(HttpContext context, string action, string? tenant, CancellationToken cancellationToken)
    {
        var policy = _policy.Current;
        if (policy is null)
        {
            return (null, ErrorWriter.Result(ErrorCatalog.PolicyUnavailable));
        }

        if (!AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrEmpty(header.Parameter))
        {
            return (null, ErrorWriter.Result(ErrorCatalog.AdminUnauthenticated));
        }

        var token = header.Parameter;
        if (token.Length > _maxTokenLength)
        {
            return (null, ErrorWriter.Result(ErrorCatalog.AdminUnauthenticated));
        }

        var result = await _subjects.ValidateAsync(token, TokenHash.Of(token), policy, cancellationToken);
        if (result is not SubjectValidationResult.Valid { Identity: var identity } || identity.Kind == IdentityKind.Broker)
        {
            await AuditAsync(context, action, null, tenant, AuditOutcome.Denied, "admin.unauthenticated");
            return (null, ErrorWriter.Result(ErrorCatalog.AdminUnauthenticated));
        }

        var (ownTenant, _) = PolicyEvaluator.ResolveTenant(policy, identity);
        return (new AdminPrincipal(identity.Id, ownTenant?.Name, _globalAdmins.Any(p => p.Matches(identity.Id))), null);
    }

    /// <summary>Global admins administer every tenant; tenant admins only their own (null tenant: global only).</summary>
    public bool MayAdminister(AdminPrincipal admin, string? tenant)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (tenant is null)
        {
            return admin.IsGlobal;
        }

        return admin.IsGlobal || (_policy.Current?.Tenants.TryGetValue(tenant, out var target) == true && admin.MayAdminister(tenant, target.Admins));
    }

    /// <summary>The log line of a revocation the store audited atomically.</summary>
    public void LogRevocation(HttpContext context, string admin, string tenant, string grantId, string reason) =>
        _audit.LogRecorded(new AuditEvent
        {
            Type = AuditEventTypes.GrantRevoked,
            Time = _timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Allowed,
            Reason = reason,
            Tenant = tenant,
            Actor = admin,
            GrantId = grantId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        });

    /// <summary>Audits an admin action with the admin's identity.</summary>
    public ValueTask AuditAsync(HttpContext context, string action, string? admin, string? tenant, AuditOutcome outcome, string? reason, string? grantId = null) =>
        _audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = _timeProvider.GetUtcNow(),
            Outcome = outcome,
            Reason = reason,
            Tenant = tenant,
            Actor = admin,
            GrantId = grantId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        }, CancellationToken.None);
}
