using Broker.Admin;
using Broker.Audit;
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

            view = new KeyListView("redis", ring.Version, [.. ring.Statuses.Where(s => s.State != KeyState.Removed).Select(KeyView.From)]);
        }
        else
        {
            var active = keys.Active.KeyId;
            view = new KeyListView("files", null, [.. keys.Published.Select(k => new KeyView(k.KeyId, k.KeyId == active ? "active" : "retired", "file", null, null, null, null))]);
        }

        await audit.RecordAsync(context, Action, AuditOutcome.Allowed, null, null);
        return Results.Json(view, KeysJsonContext.Default.KeyListView);
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
            KeysJsonContext.Default.KeyRotationView);
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
                new KeyRetirementView(kid, "retired", retired.Key.RetiredAt, retired.Key.RemoveAt), KeysJsonContext.Default.KeyRetirementView),
            RetireOutcome.AlreadyRetired already => Results.Json(
                new KeyRetirementView(kid, "already_retired", already.Status.RetiredAt, already.Status.RemoveAt), KeysJsonContext.Default.KeyRetirementView),
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

/// <summary>The ring as <c>GET /admin/v1/keys</c> returns it.</summary>
/// <param name="Store"><c>redis</c> (shared, rotating) or <c>files</c> (PEM files, fixed).</param>
/// <param name="Version">The ring's version in Redis; none for files.</param>
/// <param name="Keys">Every key still published or due to be, in activation order.</param>
internal sealed record KeyListView(string Store, long? Version, IReadOnlyList<KeyView> Keys);

/// <summary>One key: its <c>kid</c>, state (<c>next</c>, <c>active</c>, <c>retired</c>), where it came from and its times.</summary>
internal sealed record KeyView(string Kid, string State, string Origin, DateTimeOffset? CreatedAt, DateTimeOffset? ActivatesAt, DateTimeOffset? RetiredAt, DateTimeOffset? RemoveAt)
{
    public static KeyView From(KeyStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new KeyView(status.Key.Kid, StateName(status.State), status.Key.Origin, status.Key.CreatedAt, status.Key.ActivatesAt, status.RetiredAt, status.RemoveAt);
    }

    public static string StateName(KeyState state) => state switch
    {
        KeyState.Next => "next",
        KeyState.Active => "active",
        KeyState.Retired => "retired",
        _ => "removed",
    };
}

/// <summary>The answer to a rotation: the key that signs from <c>activates_at</c>, and the one it replaces.</summary>
internal sealed record KeyRotationView(string Kid, DateTimeOffset ActivatesAt, string? PreviousKid, DateTimeOffset? PreviousRemoveAt);

/// <summary>The answer to a retirement: <c>retired</c> or <c>already_retired</c>, and until when the key stays published.</summary>
internal sealed record KeyRetirementView(string Kid, string Result, DateTimeOffset? RetiredAt, DateTimeOffset? RemoveAt);
