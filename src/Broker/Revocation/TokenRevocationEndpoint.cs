using Broker.Audit;
using Broker.Authentication;
using Broker.Errors;
using Broker.Grants;
using Broker.OAuth;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Revocation;

/// <summary>
/// <c>POST /oauth2/revoke</c> (RFC 7009): the holder of a capability token revokes it; possession of a valid
/// token is the authorisation (revoking one token only ever takes rights away), and the answer is 200 whatever
/// the token was (RFC 7009 §2.2), so the endpoint tells nothing about tokens it does not honour.
/// </summary>
/// <remarks>
/// <c>revoke_task=true</c> ends every active grant of the token's task and subject. That is more than the
/// token's own rights: an MCP server that received the token could otherwise end a task it merely serves. So
/// the caller must authenticate as the token's subject, with its own workload credential (the Workload scheme,
/// <c>Authorization: Bearer</c> JWT-SVID or OIDC token) whose identity and tenant are the grant's; otherwise
/// 401 (no or refused credential) or 403 (another identity), and nothing is revoked, so the caller knows the
/// task is still live.
/// </remarks>
internal sealed class TokenRevocationEndpoint(CapabilityTokenReader reader, IGrantStore store, AuditTrail audit, AuthenticationAudit authenticationAudit, TimeProvider timeProvider, IOptions<SubjectsOptions> subjects)
{
    public const string HolderReason = "revoked by the token holder";

    /// <summary>The audit event type of a refused <c>revoke_task=true</c>.</summary>
    public const string TaskAction = "token.revoke_task";

    /// <summary>Revokes one grant as its holder, and with it the grants derived from it.</summary>
    private async Task RevokeAsync(HttpContext context, GrantRecord grant, CancellationToken cancellationToken)
    {
        if (await store.RevokeAsync(grant.Id, grant.Subject, HolderReason, cancellationToken) is not Revoked revoked)
        {
            return;
        }

        // The store audited it atomically; this is the log line of that event.
        audit.LogRecorded(new AuditEvent
        {
            Type = AuditEventTypes.GrantRevoked,
            Time = timeProvider.GetUtcNow(),
            Outcome = AuditOutcome.Allowed,
            Reason = HolderReason,
            Tenant = grant.Tenant,
            Subject = grant.Subject,
            TaskId = grant.TaskId,
            GrantId = grant.Id,
            Actor = grant.Subject,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        });

        // The store audited each descendant too; these are the log lines of those events.
        foreach (var descendant in revoked.Descendants)
        {
            audit.LogRecorded(new AuditEvent
            {
                Type = AuditEventTypes.GrantRevoked,
                Time = descendant.RevokedAt,
                Outcome = AuditOutcome.Allowed,
                Reason = GrantValidation.DescendantReason(grant.Id, HolderReason),
                Tenant = descendant.Tenant,
                GrantId = descendant.GrantId,
                Actor = grant.Subject,
                ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
            });
        }
    }

    /// <summary>401 for a missing or refused credential (audited like any), or the scheme's own 429 or 503.</summary>
    private async Task<IResult> RefuseTaskAsync(HttpContext context, AuthenticateResult authentication)
    {
        var failure = WorkloadAuthenticationHandler.FailureOf(authentication);
        if (failure is { IsOutageOrLimit: true })
        {
            return ErrorWriter.Result(failure.Error, failure.RetryAfter is { } delay ? RateLimiting.RetryAfter.Options(delay) : null);
        }

        await authenticationAudit.UnauthenticatedAsync(context, TaskAction, failure?.Error ?? ErrorCatalog.RevocationTaskUnauthenticated);
        return ErrorWriter.Result(ErrorCatalog.RevocationTaskUnauthenticated);
    }

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        var (form, formError) = await OAuthFormReader.ReadAsync(context, OAuthFormLimits.SingleToken, cancellationToken);
        if (form is null)
        {
            return ErrorWriter.Result(formError!);
        }

        // Authenticated first, before the token is looked at: the refusal then says nothing about the token.
        var revokeTask = form["revoke_task"] == "true";
        WorkloadPrincipal? owner = null;
        if (revokeTask)
        {
            var authentication = await context.AuthenticateAsync(WorkloadAuthenticationDefaults.Scheme);
            owner = authentication.Succeeded ? WorkloadPrincipal.From(authentication.Principal) : null;
            if (owner is null)
            {
                return await RefuseTaskAsync(context, authentication);
            }
        }

        var token = reader.TryRead(form["token"].Count == 1 ? form["token"][0] : null, subjects.Value.MaxTokenLength);
        if (token is not { JwtId: { Length: > 0 } grantId })
        {
            return Results.Ok();
        }

        try
        {
            var grant = await store.FindAsync(grantId, cancellationToken);
            if (grant is null || grant.Subject != token.Subject)
            {
                return Results.Ok();
            }

            if (revokeTask)
            {
                if (!string.Equals(owner!.Id, grant.Subject, StringComparison.Ordinal) || !string.Equals(owner.Tenant, grant.Tenant, StringComparison.Ordinal))
                {
                    await authenticationAudit.ForbiddenAsync(context, TaskAction, owner, grant.Tenant, ErrorCatalog.RevocationTaskForbidden);
                    return ErrorWriter.Result(ErrorCatalog.RevocationTaskForbidden);
                }

                // The whole task, but only this subject's grants in it: the subject speaks for itself only.
                string? cursor = null;
                do
                {
                    var page = await store.ListAsync(GrantQuery.ForTask(grant.Tenant, grant.TaskId), cursor, GrantQuery.MaxPageSize, cancellationToken);
                    foreach (var sibling in page.Grants.Where(g => g.Subject == grant.Subject && g.Status == GrantStatus.Active))
                    {
                        await RevokeAsync(context, sibling, cancellationToken);
                    }

                    cursor = page.NextCursor;
                }
                while (cursor is not null);
            }
            else
            {
                await RevokeAsync(context, grant, cancellationToken);
            }

            return Results.Ok();
        }
        catch (GrantStoreUnavailableException)
        {
            // Not a silent success: the holder must know the token is still live (RFC 7009 §2.2.1, 503).
            return ErrorWriter.Result(ErrorCatalog.StoreUnavailable);
        }
    }
}
