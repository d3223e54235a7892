using System.Globalization;
using Broker.Errors;
using Broker.Policy;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.Extensions.Primitives;

namespace Broker.Exchange;

/// <summary>
/// The syntactic checks of a token-exchange form, in order, each answering with one catalog error.
/// Nothing here trusts a token; it only decides whether the request is well formed.
/// </summary>
internal static class ExchangeRequestReader
{
    /// <summary>
    /// Reads a form from <see cref="OAuth.OAuthFormReader"/>, which already refused repeated parameters
    /// (RFC 6749 §3.2) other than <c>resource</c> and <c>audience</c>.
    /// </summary>
    public static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(IFormCollection form, ExchangeOptions options, int maxTokenLength)
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(options);

        // RFC 6749 §5.2: unsupported_grant_type for anything but token exchange.
        var grantType = Single(form, ExchangeParameters.GrantType);
        if (grantType is null)
        {
            return (null, ErrorCatalog.MissingGrantType);
        }

        if (grantType != ExchangeParameters.TokenExchangeGrantType)
        {
            return (null, ErrorCatalog.UnsupportedGrantType);
        }

        // RFC 8693 §2.1: subject_token and its type are required. Size is bounded before anything parses it.
        var subjectToken = Single(form, ExchangeParameters.SubjectToken);
        if (subjectToken is null)
        {
            return (null, ErrorCatalog.MissingSubjectToken);
        }

        if (subjectToken.Length > maxTokenLength)
        {
            return (null, ErrorCatalog.SubjectTokenTooLarge);
        }

        var subjectTokenType = Single(form, ExchangeParameters.SubjectTokenType);
        if (subjectTokenType is null)
        {
            return (null, ErrorCatalog.MissingSubjectTokenType);
        }

        if (!IsJwtTokenType(subjectTokenType) && subjectTokenType != X509SvidSubjectValidator.TokenType)
        {
            return (null, ErrorCatalog.UnsupportedSubjectTokenType);
        }

        // RFC 8693 §2.1: actor_token_type is required with actor_token and forbidden without it.
        var actorToken = Single(form, ExchangeParameters.ActorToken);
        var actorTokenType = Single(form, ExchangeParameters.ActorTokenType);
        if (actorToken is null && actorTokenType is not null)
        {
            return (null, ErrorCatalog.ActorTokenTypeWithoutToken);
        }

        if (actorToken is not null)
        {
            if (actorTokenType is null)
            {
                return (null, ErrorCatalog.ActorTokenWithoutType);
            }

            if (actorToken.Length > maxTokenLength)
            {
                return (null, ErrorCatalog.ActorTokenTooLarge);
            }

            if (!IsJwtTokenType(actorTokenType))
            {
                return (null, ErrorCatalog.UnsupportedActorTokenType);
            }
        }

        // Only access tokens are issued; "jwt" is accepted as a synonym since they are JWTs.
        var requestedTokenType = Single(form, ExchangeParameters.RequestedTokenType) ?? CapabilityTokenTypes.AccessToken;
        if (requestedTokenType is not (CapabilityTokenTypes.AccessToken or CapabilityTokenTypes.Jwt))
        {
            return (null, ErrorCatalog.UnsupportedRequestedTokenType);
        }

        // RFC 8707 / RFC 8693 §2.1: one target per token, named by resource and/or audience.
        var resources = form[ExchangeParameters.Resource];
        var audiences = form[ExchangeParameters.Audience];
        if (resources.Count > 1 || audiences.Count > 1)
        {
            return (null, ErrorCatalog.MultipleTargets);
        }

        var resource = resources.Count == 1 ? resources[0] : null;
        var audience = audiences.Count == 1 ? audiences[0] : null;
        if (string.IsNullOrEmpty(resource) && string.IsNullOrEmpty(audience))
        {
            return (null, ErrorCatalog.MissingTarget);
        }

        if (resource is not null && !ResourceUri.IsValid(resource, options.AllowInsecureLoopbackResources))
        {
            return (null, ErrorCatalog.MalformedResource);
        }

        if (audience is not null && (audience.Length == 0 || audience.Length > options.MaxAudienceLength))
        {
            return (null, ErrorCatalog.MalformedAudience);
        }

        // RFC 6749 §3.3 scope: required here (deny by default: a token names what it may do).
        var scope = Single(form, ExchangeParameters.Scope);
        if (string.IsNullOrWhiteSpace(scope))
        {
            return (null, ErrorCatalog.MissingScope);
        }

        var capabilities = new List<string>();
        foreach (var name in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!PolicyLoader.IsScopeToken(name))
            {
                return (null, ErrorCatalog.MalformedScope);
            }

            if (!capabilities.Contains(name, StringComparer.Ordinal))
            {
                capabilities.Add(name);
            }

            if (capabilities.Count > options.MaxCapabilities)
            {
                return (null, ErrorCatalog.TooManyScopes);
            }
        }

        // Task context: required, short and printable; it ends up in tokens, grants and logs.
        var taskId = Single(form, ExchangeParameters.TaskId);
        if (taskId is null)
        {
            return (null, ErrorCatalog.MissingTaskId);
        }

        if (!TaskContext.IsValidValue(taskId))
        {
            return (null, ErrorCatalog.MalformedTaskId);
        }

        var purpose = Single(form, ExchangeParameters.Purpose);
        if (purpose is null)
        {
            return (null, ErrorCatalog.MissingPurpose);
        }

        if (!TaskContext.IsValidValue(purpose))
        {
            return (null, ErrorCatalog.MalformedPurpose);
        }

        TimeSpan? lifetime = null;
        if (Single(form, ExchangeParameters.ExpiresIn) is { } expiresIn)
        {
            if (!int.TryParse(expiresIn, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            {
                return (null, ErrorCatalog.MalformedExpiresIn);
            }

            lifetime = TimeSpan.FromSeconds(seconds);
        }

        return (new TokenExchangeRequest
        {
            SubjectToken = subjectToken,
            SubjectTokenType = subjectTokenType,
            ActorToken = actorToken,
            ActorTokenType = actorTokenType,
            Resource = resource,
            Audience = audience,
            Capabilities = capabilities,
            RequestedTokenType = requestedTokenType,
            TaskId = taskId,
            Purpose = purpose,
            RequestedLifetime = lifetime,
        }, null);
    }

    private static bool IsJwtTokenType(string type) =>
        type is CapabilityTokenTypes.Jwt or CapabilityTokenTypes.IdToken or CapabilityTokenTypes.AccessToken;

    /// <summary>An absent or empty parameter is treated as omitted (RFC 6749 §3.1).</summary>
    private static string? Single(IFormCollection form, string name)
    {
        StringValues values = form[name];
        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }
}
