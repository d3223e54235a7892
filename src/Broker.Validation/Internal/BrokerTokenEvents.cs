// Broker.Validation — resource servers honour broker tokens.

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Revocation;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Internal;

/// <summary>
/// The broker-specific steps around JwtBearer's validation, in order: read the header strictly and refresh keys
/// for an unknown <c>kid</c> (before validation); then the claims IdentityModel does not know (tenant, required
/// broker claims, <c>cnf</c>, <c>act</c>) and the revocation check (after validation); and our challenges.
/// </summary>
internal sealed class BrokerTokenEvents : JwtBearerEvents
{
    private const int MaxActorDepth = 8;

    private readonly BrokerTokenOptions _options;
    private readonly BrokerMetadataManager _metadata;
    private readonly IRevocationCheck _revocation;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Uri _resourceMetadata;

    public BrokerTokenEvents(BrokerTokenOptions options, BrokerMetadataManager metadata, IRevocationCheck revocation, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _metadata = metadata;
        _revocation = revocation;
        _timeProvider = timeProvider;
        _logger = logger;
        _resourceMetadata = Challenges.ResourceMetadataUriOf(options);
    }

    public override async Task MessageReceived(MessageReceivedContext context)
    {
        // RFC 6750 §2.1 header only (never the query string, MCP authorization "Token Requirements"), exactly once.
        var headers = context.Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            context.NoResult();
            return;
        }

        var header = headers.Count == 1 ? headers[0] : null;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            // Not a bearer token (or an ambiguous pair of headers): nothing for this scheme to vouch for.
            context.NoResult();
            return;
        }

        var token = header["Bearer ".Length..].Trim();
        if (token.Length == 0)
        {
            context.NoResult();
            return;
        }

        // Bounded input before any parsing.
        if (token.Length > _options.MaxTokenLength)
        {
            Reject(context, TokenFailure.TooLong);
            return;
        }

        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            Reject(context, TokenFailure.Malformed);
            return;
        }

        // The algorithm allow-list is checked before any key lookup or fetch: no "none", no HMAC keyed with a
        // public key (RFC 8725 §3.1), and no refetch of the JWKS for a token that could never verify.
        if (parsed.Alg != SecurityAlgorithms.EcdsaSha256)
        {
            Reject(context, TokenFailure.Algorithm);
            return;
        }

        if (string.IsNullOrEmpty(parsed.Kid))
        {
            Reject(context, TokenFailure.UnknownKey);
            return;
        }

        await _metadata.EnsureKeyAsync(parsed.Kid, context.HttpContext.RequestAborted);
        context.Token = token;
    }

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        if (context.SecurityToken is not JsonWebToken token || context.Principal?.Identity is not ClaimsIdentity identity)
        {
            Reject(context, TokenFailure.Malformed);
            return;
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
        var claims = payload.RootElement;

        // The broker's claims (README "The capability token"): all strings, all required.
        if (String(claims, JwtRegisteredClaimNames.Sub) is not { } subject
            || String(claims, "client_id") is not { } clientId
            || String(claims, JwtRegisteredClaimNames.Jti) is not { } grantId
            || String(claims, "tenant") is not { } tenant
            || String(claims, "task_id") is not { } taskId
            || String(claims, "purpose") is not { } purpose
            || String(claims, "scope") is not { } scope
            || !claims.TryGetProperty(JwtRegisteredClaimNames.Iat, out _))
        {
            Reject(context, TokenFailure.MissingClaims);
            return;
        }

        // The tenant is the second lock on the same door (docs/policy.md): the audience already names this server.
        if (!string.Equals(tenant, _options.Tenant, StringComparison.Ordinal))
        {
            Reject(context, TokenFailure.Tenant);
            return;
        }

        var (bindingFailure, thumbprint) = CheckBinding(claims, context.HttpContext.Connection.ClientCertificate?.RawData);
        if (bindingFailure is { } failure)
        {
            Reject(context, failure);
            return;
        }

        var actors = new List<string>();
        if (!ReadActors(claims, actors))
        {
            Reject(context, TokenFailure.MissingClaims);
            return;
        }

        // draft-ietf-oauth-status-list §8.3 step 1: a status claim, when there is one, must be well formed.
        if (!TryReadStatus(claims, out var statusList))
        {
            Reject(context, TokenFailure.MissingClaims);
            return;
        }

        var query = new RevocationQuery(grantId, new DateTimeOffset(token.IssuedAt, TimeSpan.Zero)) { StatusList = statusList };
        if (await IsStillTrustedAsync(query, subject, context.HttpContext.RequestAborted) is { } distrust)
        {
            Reject(context, distrust);
            return;
        }

        var caller = new BrokerCaller(
            grantId, subject, clientId, tenant, taskId, purpose, actors,
            scope.Split(' ', StringSplitOptions.RemoveEmptyEntries), new DateTimeOffset(token.ValidTo, TimeSpan.Zero), thumbprint);
        context.Principal = new ClaimsPrincipal(new BrokerIdentity(identity, caller));
        Log.TokenValidated(_logger, grantId, subject, tenant, taskId);
    }

    public override Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        // Every failure ends as a challenge; nothing is rethrown as a 500.
        // An unavailable broker was logged where it was found; everything else is a refused token.
        if (context.Exception is not BrokerMetadataUnavailableException)
        {
            var failure = TokenFailures.Classify(context.Exception);
            Log.TokenRejected(_logger, failure);
        }

        context.Fail(context.Exception);
        return Task.CompletedTask;
    }

    public override Task Challenge(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var response = context.Response;
        if (context.AuthenticateFailure is BrokerMetadataUnavailableException)
        {
            // Nothing is wrong with the token: we cannot check any. 503 tells the client not to fetch a new one.
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "5";
            response.Headers.CacheControl = "no-store";
            return Task.CompletedTask;
        }

        // RFC 6750 §3.1: no error code when the request carried no token; invalid_token when it did.
        var challenge = context.AuthenticateFailure is null
            ? Challenges.Bearer(_resourceMetadata)
            : Challenges.Bearer(_resourceMetadata, "invalid_token", TokenFailures.Describe(TokenFailures.Classify(context.AuthenticateFailure)));
        Challenges.Write(response, StatusCodes.Status401Unauthorized, challenge);
        return Task.CompletedTask;
    }

    private void Reject(ResultContext<JwtBearerOptions> context, TokenFailure failure)
    {
        Log.TokenRejected(_logger, failure);
        context.Fail(new BrokerTokenRejectedException(failure));
    }

    /// <summary>Null when trusted; otherwise why not.</summary>
    private async ValueTask<TokenFailure?> IsStillTrustedAsync(RevocationQuery query, string subject, CancellationToken cancellationToken)
    {
        var grantId = query.GrantId;
        var status = await _revocation.CheckAsync(query, cancellationToken);
        if (status.Revoked)
        {
            Log.RevokedGrantPresented(_logger, grantId, subject);
            return TokenFailure.Revoked;
        }

        if (status.Undetermined)
        {
            Log.RevocationUndetermined(_logger, grantId);
            return TokenFailure.RevocationUnknown;
        }

        if (_options.Revocation.MaxStaleness is { } maxStaleness
            && (status.CurrentAsOf is not { } asOf || _timeProvider.GetUtcNow() - asOf > maxStaleness))
        {
            Log.RevocationStale(_logger, status.CurrentAsOf, grantId, _options.Revocation.AllowWhenStale ? "accepted" : "refused");
            return _options.Revocation.AllowWhenStale ? null : TokenFailure.RevocationUnknown;
        }

        return null;
    }

    /// <summary>
    /// RFC 8705 §3: a token bound with <c>x5t#S256</c> is accepted only over a TLS connection whose client
    /// certificate has that SHA-256 thumbprint. A confirmation method we cannot check (<c>jkt</c>, until DPoP is
    /// supported) refuses the token: accepting it as a bearer token would undo the binding.
    /// </summary>
    private static (TokenFailure? Failure, string? Thumbprint) CheckBinding(JsonElement claims, byte[]? clientCertificate)
    {
        if (!claims.TryGetProperty("cnf", out var cnf))
        {
            return (null, null);
        }

        if (cnf.ValueKind != JsonValueKind.Object)
        {
            return (TokenFailure.UnsupportedBinding, null);
        }

        string? thumbprint = null;
        foreach (var member in cnf.EnumerateObject())
        {
            if (member.Name != "x5t#S256" || member.Value.ValueKind != JsonValueKind.String || thumbprint is not null)
            {
                return (TokenFailure.UnsupportedBinding, null);
            }

            thumbprint = member.Value.GetString();
        }

        if (thumbprint is null)
        {
            return (TokenFailure.UnsupportedBinding, null);
        }

        if (clientCertificate is null)
        {
            return (TokenFailure.CertificateBinding, null);
        }

        var presented = Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(SHA256.HashData(clientCertificate)));
        return CryptographicOperations.FixedTimeEquals(presented, Encoding.ASCII.GetBytes(thumbprint))
            ? (null, thumbprint)
            : (TokenFailure.CertificateBinding, null);
    }

    /// <summary>
    /// draft-ietf-oauth-status-list §6.2: <c>status</c>, when present, is an object; its <c>status_list</c>, when
    /// present, holds a non-negative integer <c>idx</c> and a string <c>uri</c>. Other status mechanisms are ignored.
    /// </summary>
    private static bool TryReadStatus(JsonElement claims, out StatusListReference? reference)
    {
        reference = null;
        if (!claims.TryGetProperty("status", out var status))
        {
            return true;
        }

        if (status.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (!status.TryGetProperty("status_list", out var list))
        {
            return true;
        }

        if (list.ValueKind != JsonValueKind.Object
            || !list.TryGetProperty("idx", out var idx) || idx.ValueKind != JsonValueKind.Number || !idx.TryGetInt64(out var index) || index < 0
            || String(list, "uri") is not { } uri)
        {
            return false;
        }

        reference = new StatusListReference(index, uri);
        return true;
    }

    /// <summary>RFC 8693 §4.1: <c>act</c> names the current actor; earlier actors nest inside it.</summary>
    private static bool ReadActors(JsonElement claims, List<string> actors)
    {
        var current = claims;
        while (current.TryGetProperty("act", out var act))
        {
            if (act.ValueKind != JsonValueKind.Object || String(act, JwtRegisteredClaimNames.Sub) is not { } actor || actors.Count == MaxActorDepth)
            {
                return false;
            }

            actors.Add(actor);
            current = act;
        }

        return true;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
