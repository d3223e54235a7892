using System.Text.Json;
using Broker.Audit;
using Broker.Errors;
using Broker.Grants;
using Broker.Contracts.Admin;

namespace Broker.Admin;

/// <summary><c>POST /admin/v1/grants/{grant_id}/revoke</c>: revoke one grant, atomically, with a reason.</summary>
internal sealed class RevokeGrantEndpoint(AdminGate gate, IGrantStore store)
{
    public const string Action = "admin.grant.revoke";

    public async Task<IResult> HandleAsync(HttpContext context, string grantId, CancellationToken cancellationToken)
    {
        var admin = AdminGate.Caller(context);
        var body = await AdminJson.ReadAsync(context, AdminApiJsonContext.Default.RevokeRequest, cancellationToken);
        if (body is null || !AdminInput.IsValidReason(body.Reason))
        {
            return ErrorWriter.Result(ErrorCatalog.AdminInvalidRevokeBody);
        }

        var grant = AdminInput.IsValidGrantId(grantId) ? await store.FindAsync(grantId, cancellationToken) : null;
        if (grant is null || !await gate.MayAdministerGrantAsync(context, grant))
        {
            await gate.AuditAsync(context, Action, admin.QualifiedId, grant?.Tenant, AuditOutcome.Denied, grant is null ? "admin.not_found" : "admin.forbidden", grant?.Id);
            return ErrorWriter.Result(ErrorCatalog.AdminNotFound);
        }

        // The store audits the revocation in the same atomic step, with the admin as its actor.
        var result = await store.RevokeAsync(grant.Id, admin.QualifiedId, body.Reason!, cancellationToken);
        if (result is Revoked revokedNow)
        {
            gate.LogRevocation(context, admin.QualifiedId, grant.Tenant, grant.Id, body.Reason!);
            foreach (var descendant in revokedNow.Descendants)
            {
                gate.LogRevocation(context, admin.QualifiedId, descendant.Tenant, descendant.GrantId, GrantValidation.DescendantReason(grant.Id, body.Reason!));
            }
        }

        return result switch
        {
            Revoked revoked => Results.Json(new RevokeView(grant.Id, "revoked", revoked.Entry.RevokedAt), AdminApiJsonContext.Default.RevokeView),
            AlreadyRevoked already => Results.Json(new RevokeView(grant.Id, "already_revoked", already.Revocation.RevokedAt), AdminApiJsonContext.Default.RevokeView),
            _ => ErrorWriter.Result(ErrorCatalog.AdminNotFound),
        };
    }
}

/// <summary>Reads small JSON bodies within a bound; null when absent or malformed.</summary>
internal static class AdminJson
{
    private const int MaxBodyBytes = 16 * 1024;

    public static async Task<T?> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        if (context.Request.ContentLength is > MaxBodyBytes || !context.Request.HasJsonContentType())
        {
            return null;
        }

        // Bounded also without Content-Length (chunked): Kestrel stops reading past the limit.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or BadHttpRequestException or IOException)
        {
            return null;
        }
    }
}
