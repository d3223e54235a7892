using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.OAuth;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Revocation;

/// <summary>
/// <c>POST /oauth2/revoke</c> (RFC 7009): the holder of a capability token revokes it, or, with
/// <c>revoke_task=true</c>, every active grant of that token's task and subject. Possession of a
/// valid token is the authorisation (revoking only ever takes rights away). The answer is 200 whatever
/// the token was (RFC 7009 §2.2), so the endpoint tells nothing about tokens it does not honour.
/// </summary>
internal sealed class TokenRevocationEndpoint(CapabilityTokenReader reader, IGrantStore store, AuditTrail audit, TimeProvider timeProvider, IOptions<SubjectsOptions> subjects)
{
    public const string HolderReason = "revoked by the token holder";

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

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        var (form, formError) = await OAuthFormReader.ReadAsync(context, OAuthFormLimits.SingleToken, cancellationToken);
        if (form is null)
        {
            return ErrorWriter.Result(formError!);
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

            if (form["revoke_task"] == "true")
            {
                // The whole task, but only this subject's grants in it: a holder speaks for itself.
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
