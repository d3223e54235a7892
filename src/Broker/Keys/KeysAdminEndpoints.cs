using Broker.Admin;
using Broker.Audit;
using Broker.Contracts.Admin;
using Broker.Errors;
using Broker.Grants;
using StackExchange.Redis;

namespace Broker.Keys;

/// <summary><c>GET /admin/v1/keys</c>: the ring, every key with its state and times; global admins only.</summary>
internal sealed class ListKeysEndpoint(ISigningKeyProvider keys, KeysAdminAudit audit, IServiceProvider services)
{
    public const string Action = "admin.keys.list";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        KeyListView view;
        if (services.GetService<SharedKeyRing>() is { } ring)
        {
            try
            {
                // Read through to Redis: an admin asks about the ring, not this replica's copy of it.
                await ring.RefreshAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return ErrorWriter.Result(ErrorCatalog.KeysUnavailable);
            }

            view = new KeyListView("redis", ring.Version, [.. ring.Statuses.Where(s => s.State != KeyState.Removed).Select(KeyViews.From)]);
        }
        else
        {
            var active = keys.Active.KeyId;
            view = new KeyListView("files", null, [.. keys.Published.Select(k => new KeyView(k.KeyId, k.KeyId == active ? "active" : "retired", "file", null, null, null, null))]);
        }

        await audit.RecordAsync(context, Action, AuditOutcome.Allowed, null, null);
        return Results.Json(view, AdminApiJsonContext.Default.KeyListView);
    }
}

/// <summary>
/// <c>POST /admin/v1/keys/rotate</c>: the next key signs as soon as it has been published long enough for every
/// replica and cached JWKS to have it (at once when it was published on schedule), and the active key retires.
/// </summary>
internal sealed class RotateKeyEndpoint(KeysAdminAudit audit, IServiceProvider services)
{
    public const string Action = "admin.keys.rotate";

    public async Task<IResult> HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (services.GetService<SharedKeyRing>() is not { } ring)
        {
            await audit.RecordAsync(context, Action, AuditOutcome.Denied, ErrorCatalog.KeysFromFiles.Reason, null);
            return ErrorWriter.Result(ErrorCatalog.KeysFromFiles);
        }

        KeyRotation? rotation;
        try
        {
            rotation = await ring.RotateAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return ErrorWriter.Result(ErrorCatalog.KeysUnavailable);
        }

        if (rotation is null)
        {
            return ErrorWriter.Result(ErrorCatalog.KeysBusy);
        }

        await audit.RecordAsync(context, Action, AuditOutcome.Allowed, null, rotation.Kid);
        return Results.Json(
            new KeyRotationView(rotation.Kid, rotation.ActivatesAt, rotation.PreviousKid, rotation.PreviousRemoveAt),
            AdminApiJsonContext.Default.KeyRotationView);
    }
}

/// <summary>
/// <c>POST /admin/v1/keys/{kid}/retire</c>: a key stops being published once the tokens it signed have expired (a next
/// key that never signed: at once). The active key is refused: rotate first.
/// </summary>
internal sealed class RetireKeyEndpoint(KeysAdminAudit audit, IServiceProvider services)
{
    public const string Action = "admin.keys.retire";

    // RFC 7638 thumbprints of this broker are 43 base64url characters; anything else names no key of ours.
    private const int MaxKidLength = 128;

    public async Task<IResult> HandleAsync(HttpContext context, string kid, CancellationToken cancellationToken)
    {
        if (services.GetService<SharedKeyRing>() is not { } ring)
        {
            await audit.RecordAsync(context, Action, AuditOutcome.Denied, ErrorCatalog.KeysFromFiles.Reason, null);
            return ErrorWriter.Result(ErrorCatalog.KeysFromFiles);
        }

        RetireOutcome? outcome = null;
        if (IsWellFormedKid(kid))
        {
            try
            {
                outcome = await ring.RetireAsync(kid, cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                return ErrorWriter.Result(ErrorCatalog.KeysUnavailable);
            }

            if (outcome is null)
            {
                return ErrorWriter.Result(ErrorCatalog.KeysBusy);
            }
        }

        var known = outcome is not (null or RetireOutcome.NotFound);
        var refusal = outcome switch
        {
            null or RetireOutcome.NotFound => ErrorCatalog.KeyNotFound,
            RetireOutcome.IsActive => ErrorCatalog.KeyIsActive,
            RetireOutcome.ActivatesSoon => ErrorCatalog.KeyActivatesSoon,
            _ => null,
        };

        // The kid is recorded only when it names a key: made-up input stays out of the audit trail.
        await audit.RecordAsync(context, Action, refusal is null ? AuditOutcome.Allowed : AuditOutcome.Denied, refusal?.Reason, known ? kid : null);
        return outcome switch
        {
            RetireOutcome.Retired retired => Results.Json(
                new KeyRetirementView(kid, "retired", retired.Key.RetiredAt, retired.Key.RemoveAt), AdminApiJsonContext.Default.KeyRetirementView),
            RetireOutcome.AlreadyRetired already => Results.Json(
                new KeyRetirementView(kid, "already_retired", already.Status.RetiredAt, already.Status.RemoveAt), AdminApiJsonContext.Default.KeyRetirementView),
            _ => ErrorWriter.Result(refusal!),
        };
    }

    private static bool IsWellFormedKid(string? kid) =>
        kid is { Length: > 0 and <= MaxKidLength } && kid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

/// <summary>Audits key administration with the admin's identity; no tenant (keys belong to the whole broker).</summary>
internal sealed class KeysAdminAudit(AuditTrail audit, TimeProvider timeProvider)
{
    public ValueTask RecordAsync(HttpContext context, string action, AuditOutcome outcome, string? reason, string? keyId) =>
        audit.RecordAsync(new AuditEvent
        {
            Type = action,
            Time = timeProvider.GetUtcNow(),
            Outcome = outcome,
            Reason = reason,
            Actor = AdminGate.Caller(context).QualifiedId,
            KeyId = keyId,
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
        }, CancellationToken.None);
}

/// <summary>A key of the ring as the admin API shows it (the wire model is <see cref="KeyView"/>, shared with brokerctl).</summary>
internal static class KeyViews
{
    public static KeyView From(KeyStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new KeyView(status.Key.Kid, StateName(status.State), status.Key.Origin, status.Key.CreatedAt, status.Key.ActivatesAt, status.RetiredAt, status.RemoveAt);
    }

    private static string StateName(KeyState state) => state switch
    {
        KeyState.Next => "next",
        KeyState.Active => "active",
        KeyState.Retired => "retired",
        _ => "removed",
    };
}
