using Broker.Audit;
using Broker.Authentication;
using Broker.Errors;
using Broker.Grants;
using Broker.Policy;

namespace Broker.Catalog;

/// <summary>The authenticated caller of a catalog route, with the policy snapshot the whole request reads.</summary>
/// <param name="Principal">Who it is, placed in its tenant.</param>
/// <param name="Identity">The validated identity with its claims, which rules match on.</param>
/// <param name="Policy">The policy snapshot of this request.</param>
/// <param name="Tenant">The caller's tenant in that snapshot.</param>
internal sealed record CatalogCaller(WorkloadPrincipal Principal, WorkloadIdentity Identity, PolicySet Policy, TenantPolicy Tenant)
{
    /// <summary>The caller, or null when it has no tenant in the policy in force (a reload removed it): refused as such.</summary>
    public static CatalogCaller? From(HttpContext context, IPolicyProvider policyProvider)
    {
        ArgumentNullException.ThrowIfNull(context);
        var principal = WorkloadPrincipal.From(context.User);
        var identity = context.Features.Get<WorkloadIdentityFeature>()?.Identity;
        var policy = policyProvider.Current;
        return principal?.Tenant is { } name && identity is not null && policy?.Tenants.TryGetValue(name, out var tenant) == true
            ? new CatalogCaller(principal, identity, policy, tenant!)
            : null;
    }

    /// <summary>What this caller may do with <paramref name="capability"/> (<see cref="CatalogAccess.Evaluate"/>).</summary>
    public CapabilityAccess AccessTo(Capability capability, string? purpose = null) => CatalogAccess.Evaluate(Tenant, capability, Identity, purpose);

    /// <summary>The tenant's capabilities that live on <paramref name="resource"/>, by name.</summary>
    public IReadOnlyList<Capability> CapabilitiesOn(string resource) =>
        [.. Tenant.Capabilities.Values.Where(c => string.Equals(c.Resource, resource, StringComparison.Ordinal)).OrderBy(c => c.Name, StringComparer.Ordinal)];
}

/// <summary>What the catalog's endpoints share: reading the request's resource and preconditions, and auditing writes.</summary>
internal sealed class CatalogGate(AuditTrail audit, TimeProvider timeProvider, ILogger<CatalogGate> logger)
{
    /// <summary>Longest resource URI accepted in a query.</summary>
    public const int MaxResourceLength = 2048;

    /// <summary>The route's resource: <c>?resource=</c>, once, an absolute URI without a fragment (RFC 8707 §2).</summary>
    public static bool TryReadResource(HttpRequest request, out string resource)
    {
        ArgumentNullException.ThrowIfNull(request);
        resource = "";
        var values = request.Query["resource"];
        if (values.Count != 1 || values[0] is not { Length: > 0 and <= MaxResourceLength } value

            // The syntax only: whether it names one of the tenant's resources is decided against policy, which
            // compares exactly (the plain-http loopback form is accepted here because policy may declare it under --dev).
            || !Grammar.IsResourceUri(value, allowInsecureLoopback: true))
        {
            return false;
        }

        resource = value;
        return true;
    }

    /// <summary>The entity tag of a catalog entry's version (RFC 9110 §8.8.3): a strong tag, the version in quotes.</summary>
    public static string ETag(long version) => "\"" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"";

    /// <summary>
    /// The request's precondition on the entry's version (RFC 9110 §13.1): <c>If-Match: "N"</c> or <c>*</c>, or
    /// <c>If-None-Match: *</c> (only when nothing is published). False when malformed.
    /// </summary>
    public static bool TryReadPrecondition(HttpRequest request, out Precondition precondition)
    {
        ArgumentNullException.ThrowIfNull(request);
        precondition = Precondition.None;
        var ifMatch = request.Headers.IfMatch;
        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (ifMatch.Count > 1 || ifNoneMatch.Count > 1 || (ifMatch.Count == 1 && ifNoneMatch.Count == 1))
        {
            return false;
        }

        if (ifNoneMatch.Count == 1)
        {
            if (ifNoneMatch[0]?.Trim() != "*")
            {
                return false;
            }

            precondition = new Precondition(PreconditionKind.NothingPublished, 0);
            return true;
        }

        if (ifMatch.Count == 0)
        {
            return true;
        }

        var value = ifMatch[0]?.Trim() ?? "";
        if (value == "*")
        {
            precondition = new Precondition(PreconditionKind.SomethingPublished, 0);
            return true;
        }

        if (value.Length is < 3 or > 22 || value[0] != '"' || value[^1] != '"'
            || !long.TryParse(value.AsSpan(1, value.Length - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            || version < 1)
        {
            return false;
        }

        precondition = new Precondition(PreconditionKind.Version, version);
        return true;
    }

    /// <summary>Audits a refused write and logs it; the caller's identity is the actor.</summary>
    public ValueTask RefuseAsync(HttpContext context, string action, CatalogCaller? caller, WorkloadPrincipal? principal, string resource, IReadOnlyList<string> capabilities, ErrorDescriptor reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(reason);
        var who = caller?.Principal ?? principal;
        Log.ChangeRefused(logger, who?.QualifiedId ?? "unknown", resource, reason.Reason);
        return audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Denied,
            Error = reason.Error,
            Reason = reason.Reason,
            Tenant = caller?.Tenant.Name ?? who?.Tenant,
            Subject = who?.Id,
            Actor = who?.QualifiedId,
            Audience = resource.Length == 0 ? null : resource,
            RequestedCapabilities = capabilities,
            PolicyVersion = caller?.Policy.Version,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        }, CancellationToken.None);
    }

    /// <summary>The audit event of an allowed write (the store records it with the write).</summary>
    public AuditEvent Allowed(HttpContext context, string action, CatalogCaller caller, string resource, IReadOnlyList<string> concerned, IReadOnlyList<string> published, AuditCatalogChange change) => new()
    {
        Type = action,
        Time = timeProvider.GetUtcNow(),
        Outcome = AuditOutcome.Allowed,
        Tenant = caller.Tenant.Name,
        Subject = caller.Principal.Id,
        Actor = caller.Principal.QualifiedId,
        Audience = resource,
        RequestedCapabilities = concerned,
        GrantedCapabilities = published,
        PolicyVersion = caller.Policy.Version,
        ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        Catalog = change,
    };

    /// <summary>The log line of a write the store audited atomically.</summary>
    public void LogRecorded(AuditEvent auditEvent) => audit.LogRecorded(auditEvent);

    /// <summary>
    /// The withdrawals of <paramref name="capabilities"/> (no longer published on <paramref name="resource"/>), in a
    /// tenant that requires publication; none otherwise (there publication never decided execution). Each is kept for
    /// the longest lifetime a token of it could have, plus the second <c>iat</c> truncates.
    /// </summary>
    public IReadOnlyList<CatalogWithdrawal> Withdrawals(TenantPolicy tenant, string resource, IEnumerable<string> capabilities)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (tenant.Catalog.Publishing != PublishingMode.Required)
        {
            return [];
        }

        var now = timeProvider.GetUtcNow();
        return [.. capabilities.Select(name =>
        {
            var lifetime = tenant.Capabilities.TryGetValue(name, out var capability) && capability.MaxLifetime < tenant.MaxLifetime ? capability.MaxLifetime : tenant.MaxLifetime;
            return new CatalogWithdrawal(new Grants.CapabilityWithdrawal(name, resource), now + lifetime + TimeSpan.FromSeconds(1));
        })];
    }
}

/// <summary>What a conditional request expects of the entry.</summary>
internal enum PreconditionKind
{
    None = 0,
    Version = 1,
    SomethingPublished = 2,
    NothingPublished = 3,
}

/// <summary>A conditional request's expectation (<see cref="CatalogGate.TryReadPrecondition"/>).</summary>
internal readonly record struct Precondition(PreconditionKind Kind, long Version)
{
    public static Precondition None => default;

    /// <summary>True when <paramref name="entry"/> meets it.</summary>
    public bool IsMetBy(CatalogEntry? entry) => Kind switch
    {
        PreconditionKind.Version => entry?.Version == Version,
        PreconditionKind.SomethingPublished => entry?.Current is not null,
        PreconditionKind.NothingPublished => entry?.Current is null,
        _ => true,
    };
}
