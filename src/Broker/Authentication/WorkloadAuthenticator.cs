using Broker.Errors;
using Broker.Policy;
using Broker.Subjects;
using Microsoft.Extensions.Options;

namespace Broker.Authentication;

/// <summary>
/// Turns a presented workload token (a JWT-SVID or an OIDC token) into a <see cref="WorkloadPrincipal"/>:
/// validated by <see cref="SubjectTokenValidator"/> exactly as a subject token is, placed in its tenant by
/// policy, and checked against <c>Broker:Admin:GlobalAdmins</c> with its source. Independent of how the
/// token arrived, so every credential form shares it.
/// </summary>
internal sealed class WorkloadAuthenticator
{
    private readonly SubjectTokenValidator _subjects;
    private readonly IReadOnlyList<SubjectPattern> _globalAdmins;

    public WorkloadAuthenticator(SubjectTokenValidator subjects, IOptions<AdminOptions> admin)
    {
        _subjects = subjects;
        _globalAdmins = AdminOptionsValidator.CompileGlobalAdmins(admin.Value.GlobalAdmins);
    }

    /// <summary>Authenticates <paramref name="token"/> against the policy snapshot of this request.</summary>
    /// <exception cref="Grants.GrantStoreUnavailableException">A validator needed the grant store and could not reach it.</exception>
    public async ValueTask<WorkloadAuthenticationResult> AuthenticateAsync(string token, PolicySet policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(policy);

        // :: Step 1. Our own capability tokens are delegated authority for one task, held by MCP servers as
        // well as by the workload: never a credential of the workload itself. Refused before any key or
        // store lookup, so presenting one costs the broker nothing and cannot depend on Redis.
        if (_subjects.IsOwnToken(token))
        {
            return new WorkloadAuthenticationResult.Failed(ErrorCatalog.WorkloadCapabilityToken);
        }

        // :: Step 2. The same validation as a subject token: algorithms, keys, audience, lifetime.
        var result = await _subjects.ValidateAsync(token, TokenHash.Of(token), policy, cancellationToken);
        if (result is not SubjectValidationResult.Valid { Identity: var identity })
        {
            return new WorkloadAuthenticationResult.Failed(((SubjectValidationResult.Invalid)result).Reason);
        }

        if (identity.Kind == IdentityKind.Broker)
        {
            return new WorkloadAuthenticationResult.Failed(ErrorCatalog.WorkloadCapabilityToken);
        }

        // :: Step 3. The tenant, by the trust entry of the identity's source. An issuer that renders a SPIFFE ID
        // it may not speak for has not authenticated anyone; an identity no tenant claims is still
        // authenticated (a global admin need not belong to a tenant), it just has no tenant.
        var (tenant, reason) = PolicyEvaluator.ResolveTenant(policy, identity);
        if (reason == PolicyDenialReason.SpiffeIdNotAllowed)
        {
            return new WorkloadAuthenticationResult.Failed(ErrorCatalog.SubjectSpiffeIdNotAllowed);
        }

        // :: Step 4. Global admins are named with their source: a spiffe:// entry only by an SVID of its trust
        // domain, an oidc:ISSUER#… entry only by that issuer.
        var isGlobalAdmin = false;
        foreach (var pattern in _globalAdmins)
        {
            if (pattern.Matches(identity.Kind, identity.Source, identity.Id, SourceMatching.Implied))
            {
                isGlobalAdmin = true;
                break;
            }
        }

        return new WorkloadAuthenticationResult.Authenticated(new WorkloadPrincipal(identity.Id, identity.Kind, identity.Source, tenant?.Name, isGlobalAdmin))
        {
            Identity = identity,
        };
    }
}

/// <summary>The outcome of <see cref="WorkloadAuthenticator.AuthenticateAsync"/>: a closed set.</summary>
internal abstract record WorkloadAuthenticationResult
{
    private WorkloadAuthenticationResult()
    {
    }

    /// <summary>The token speaks for <see cref="Principal"/>.</summary>
    internal sealed record Authenticated(WorkloadPrincipal Principal) : WorkloadAuthenticationResult
    {
        /// <summary>The validated identity with the claims policy conditions read (the catalog matches rules on them).</summary>
        public WorkloadIdentity? Identity { get; init; }
    }

    /// <summary>Refused; <see cref="Reason"/> is the catalog entry for the audit trail.</summary>
    internal sealed record Failed(ErrorDescriptor Reason) : WorkloadAuthenticationResult;
}
