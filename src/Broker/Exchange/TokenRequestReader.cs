using System.Globalization;
using Broker.Errors;
using Broker.Policy;
using Microsoft.Extensions.Primitives;

namespace Broker.Exchange;

/// <summary>
/// Reads a form of <c>/oauth2/token</c> into one <see cref="TokenExchangeRequest"/>: picks the reader of its grant
/// type, and holds the checks both grant types share (target, scope, task context, lifetime), so the two cannot
/// drift apart. Nothing here trusts a token; it only decides whether the request is well formed.
/// </summary>
internal static class TokenRequestReader
{
    /// <summary>
    /// Reads a form from <see cref="OAuth.OAuthFormReader"/>, which already refused repeated parameters
    /// (RFC 6749 §3.2) other than <c>resource</c> and <c>audience</c>.
    /// </summary>
    public static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(IFormCollection form, ExchangeOptions options, int maxTokenLength)
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(options);

        // RFC 6749 §5.2: unsupported_grant_type for anything but the two grants of this endpoint.
        return Single(form, ExchangeParameters.GrantType) switch
        {
            null => (null, ErrorCatalog.MissingGrantType),
            ExchangeParameters.TokenExchangeGrantType => ExchangeRequestReader.Read(form, options, maxTokenLength),
            ExchangeParameters.JwtBearerGrantType => JwtBearerRequestReader.Read(form, options, maxTokenLength),
            _ => (null, ErrorCatalog.UnsupportedGrantType),
        };
    }

    /// <summary>
    /// The credential a form presents (the subject token, or a jwt-bearer grant's assertion), before anything
    /// checked the form; null when there is none. Only its hash is ever kept, to correlate a refusal.
    /// </summary>
    public static string? PresentedToken(IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(form);
        var name = form[ExchangeParameters.GrantType] is [ExchangeParameters.JwtBearerGrantType]
            ? ExchangeParameters.Assertion
            : ExchangeParameters.SubjectToken;
        return form[name] is [{ Length: > 0 } token] ? token : null;
    }

    /// <summary>
    /// A credential parameter (<c>subject_token</c>, <c>assertion</c>): required, and bounded before anything parses
    /// it. Null when the parameter is well formed; the refusal otherwise.
    /// </summary>
    public static ErrorDescriptor? ReadCredential(
        IFormCollection form, string name, int maxTokenLength, ErrorDescriptor missing, ErrorDescriptor tooLarge, out string credential)
    {
        credential = Single(form, name)!;
        return credential is null ? missing
            : credential.Length > maxTokenLength ? tooLarge
            : null;
    }

    /// <summary>
    /// What every grant reads alike once its credentials are read, in this order: the target, the scope, the task
    /// context (<paramref name="taskContextRequired"/>: the token exchange requires it) and the lifetime.
    /// </summary>
    public static ErrorDescriptor? ReadGrant(IFormCollection form, ExchangeOptions options, bool taskContextRequired, out GrantParameters grant)
    {
        grant = null!;
        if (ReadTarget(form, options, out var resource, out var audience) is { } targetError)
        {
            return targetError;
        }

        if (ReadScope(form, options, out var capabilities) is { } scopeError)
        {
            return scopeError;
        }

        if (ReadTaskContext(form, taskContextRequired, out var taskId, out var purpose) is { } taskError)
        {
            return taskError;
        }

        if (ReadLifetime(form, out var lifetime) is { } lifetimeError)
        {
            return lifetimeError;
        }

        grant = new GrantParameters(resource, audience, capabilities, taskId, purpose, lifetime);
        return null;
    }

    /// <summary>RFC 8707 / RFC 8693 §2.1: one target per token, named by resource and/or audience.</summary>
    public static ErrorDescriptor? ReadTarget(IFormCollection form, ExchangeOptions options, out string? resource, out string? audience)
    {
        var resources = form[ExchangeParameters.Resource];
        var audiences = form[ExchangeParameters.Audience];
        resource = resources.Count == 1 ? resources[0] : null;
        audience = audiences.Count == 1 ? audiences[0] : null;
        if (resources.Count > 1 || audiences.Count > 1)
        {
            return ErrorCatalog.MultipleTargets;
        }

        if (string.IsNullOrEmpty(resource) && string.IsNullOrEmpty(audience))
        {
            return ErrorCatalog.MissingTarget;
        }

        if (resource is not null && !Grammar.IsResourceUri(resource, options.AllowInsecureLoopbackResources))
        {
            return ErrorCatalog.MalformedResource;
        }

        if (audience is not null && (audience.Length == 0 || audience.Length > options.MaxAudienceLength))
        {
            return ErrorCatalog.MalformedAudience;
        }

        return null;
    }

    /// <summary>RFC 6749 §3.3 scope: required (deny by default: a token names what it may do), de-duplicated.</summary>
    public static ErrorDescriptor? ReadScope(IFormCollection form, ExchangeOptions options, out IReadOnlyList<string> capabilities)
    {
        var names = new List<string>();
        capabilities = names;
        var scope = Single(form, ExchangeParameters.Scope);
        if (string.IsNullOrWhiteSpace(scope))
        {
            return ErrorCatalog.MissingScope;
        }

        foreach (var name in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Grammar.IsScopeToken(name))
            {
                return ErrorCatalog.MalformedScope;
            }

            if (!names.Contains(name, StringComparer.Ordinal))
            {
                names.Add(name);
            }

            if (names.Count > options.MaxCapabilities)
            {
                return ErrorCatalog.TooManyScopes;
            }
        }

        return null;
    }

    /// <summary>
    /// <c>task_id</c>, then <c>purpose</c>: short and printable, since they end up in tokens, grants and logs. Each
    /// is null when absent; <paramref name="required"/> refuses that (the token exchange), otherwise the caller
    /// decides what absence means (the jwt-bearer grant).
    /// </summary>
    public static ErrorDescriptor? ReadTaskContext(IFormCollection form, bool required, out string? taskId, out string? purpose)
    {
        purpose = null;
        taskId = Single(form, ExchangeParameters.TaskId);
        if (taskId is null && required)
        {
            return ErrorCatalog.MissingTaskId;
        }

        if (taskId is not null && !Grammar.IsTaskContextValue(taskId))
        {
            return ErrorCatalog.MalformedTaskId;
        }

        purpose = Single(form, ExchangeParameters.Purpose);
        if (purpose is null && required)
        {
            return ErrorCatalog.MissingPurpose;
        }

        if (purpose is not null && !Grammar.IsTaskContextValue(purpose))
        {
            return ErrorCatalog.MalformedPurpose;
        }

        return null;
    }

    /// <summary>Broker extension <c>expires_in</c>: a requested lifetime in whole seconds; policy may shorten it.</summary>
    public static ErrorDescriptor? ReadLifetime(IFormCollection form, out TimeSpan? lifetime)
    {
        lifetime = null;
        if (Single(form, ExchangeParameters.ExpiresIn) is { } expiresIn)
        {
            if (!int.TryParse(expiresIn, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            {
                return ErrorCatalog.MalformedExpiresIn;
            }

            lifetime = TimeSpan.FromSeconds(seconds);
        }

        return null;
    }

    /// <summary>An absent or empty parameter is treated as omitted (RFC 6749 §3.1).</summary>
    public static string? Single(IFormCollection form, string name)
    {
        StringValues values = form[name];
        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }
}

/// <summary>
/// The parameters every grant of the token endpoint reads alike (<see cref="TokenRequestReader.ReadGrant"/>), made
/// into the request with the grant's own credentials by <see cref="ToRequest"/>.
/// </summary>
internal sealed record GrantParameters(
    string? Resource, string? Audience, IReadOnlyList<string> Capabilities, string? TaskId, string? Purpose, TimeSpan? Lifetime)
{
    /// <summary>The request, with the grant's credentials and the purpose it settled on (required, or defaulted).</summary>
    public TokenExchangeRequest ToRequest(string grantType, string subjectToken, string subjectTokenType, string requestedTokenType, string purpose) => new()
    {
        GrantType = grantType,
        SubjectToken = subjectToken,
        SubjectTokenType = subjectTokenType,
        Resource = Resource,
        Audience = Audience,
        Capabilities = Capabilities,
        RequestedTokenType = requestedTokenType,
        TaskId = TaskId,
        Purpose = purpose,
        RequestedLifetime = Lifetime,
    };
}
