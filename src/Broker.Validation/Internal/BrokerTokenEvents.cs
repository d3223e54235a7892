// Broker.Validation — resource servers honour broker tokens.

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Jose.DPoP;
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
/// broker claims, <c>cnf</c> with the DPoP proof, <c>act</c>) and the revocation check (after validation); and our
/// challenges.
/// </summary>
internal sealed class BrokerTokenEvents : JwtBearerEvents
{
    private const int MaxActorDepth = 8;

    // Where MessageReceived leaves the scheme the token came with, for TokenValidated and the challenge.
    private static readonly object PresentedSchemeKey = new();

    private readonly BrokerTokenOptions _options;
    private readonly BrokerMetadataManager _metadata;
    private readonly IRevocationCheck _revocation;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Uri _resourceMetadata;
    private readonly DPoPCheck _dpop;

    public BrokerTokenEvents(BrokerTokenOptions options, BrokerMetadataManager metadata, IRevocationCheck revocation, DPoPCheck dpop, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _metadata = metadata;
        _revocation = revocation;
        _dpop = dpop;
        _timeProvider = timeProvider;
        _logger = logger;
        _resourceMetadata = Challenges.ResourceMetadataUriOf(options);
    }

    /// <summary>The scheme the request's token was presented with; null when it carried none this scheme reads.</summary>
    internal static PresentedScheme? PresentedSchemeOf(HttpContext context) =>
        context.Items.TryGetValue(PresentedSchemeKey, out var scheme) ? (PresentedScheme)scheme! : null;

    public override async Task MessageReceived(MessageReceivedContext context)
    {
        // RFC 6750 §2.1 header only (never the query string, MCP authorization "Token Requirements"), exactly once.
        var headers = context.Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            context.NoResult();
            return;
        }

        // RFC 6750 §2.1 Bearer or RFC 9449 §7.1 DPoP; scheme names are case-insensitive (RFC 9110 §11.1).
        var header = headers.Count == 1 ? headers[0] : null;
        PresentedScheme scheme;
        string token;
        if (header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            (scheme, token) = (PresentedScheme.Bearer, header["Bearer ".Length..].Trim());
        }
        else if (header is not null && header.StartsWith(DPoPConstants.AuthenticationScheme + " ", StringComparison.OrdinalIgnoreCase))
        {
            (scheme, token) = (PresentedScheme.DPoP, header[(DPoPConstants.AuthenticationScheme.Length + 1)..].Trim());
        }
        else
        {
            // Not a token of ours (or an ambiguous pair of headers): nothing for this scheme to vouch for.
            context.NoResult();
            return;
        }

        if (token.Length == 0)
        {
            context.NoResult();
            return;
        }

        context.HttpContext.Items[PresentedSchemeKey] = scheme;

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

        // Shared across tenants (docs/sharing.md): tenant is the owner, this server's; consumer_tenant the caller's own.
        // Optional, but when present a string naming another tenant: anything else is not a token the broker wrote.
        string? consumerTenant = null;
        if (claims.TryGetProperty("consumer_tenant", out var consumerClaim)
            && (consumerClaim.ValueKind != JsonValueKind.String || (consumerTenant = consumerClaim.GetString()) is not { Length: > 0 }
                || string.Equals(consumerTenant, tenant, StringComparison.Ordinal)))
        {
            Reject(context, TokenFailure.MissingClaims);
            return;
        }

        var (bindingFailure, thumbprint, keyThumbprint) = await CheckBindingAsync(context.HttpContext, claims, token.EncodedToken);
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

        // The kinds of sub and act (the caller claim), when present, must be one letter per identity: a token whose claim
        // does not fit its chain is not one the broker wrote.
        if (ReadCallerContext(claims, subject, actors) is not { } callerContext)
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

        var capabilities = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var query = new RevocationQuery(grantId, new DateTimeOffset(token.IssuedAt, TimeSpan.Zero))
        {
            StatusList = statusList,
            Capabilities = capabilities,
        };
        if (await IsStillTrustedAsync(query, subject, context.HttpContext.RequestAborted) is { } distrust)
        {
            Reject(context, distrust);
            return;
        }

        var caller = new BrokerCaller(
            grantId, subject, clientId, tenant, taskId, purpose, actors,
            capabilities, new DateTimeOffset(token.ValidTo, TimeSpan.Zero), thumbprint, keyThumbprint, callerContext)
        {
            ConsumerTenant = consumerTenant,
        };
        context.Principal = new ClaimsPrincipal(new BrokerIdentity(identity, caller));
        if (keyThumbprint is not null && _dpop.IssueNonce() is { } nonce)
        {
            // RFC 9449 §8.2, §9: the current nonce with every answer, so the client's next proof needs no retry.
            context.Response.Headers[DPoPConstants.NonceHeaderName] = nonce;
        }

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
        var failure = context.AuthenticateFailure is null ? (TokenFailure?)null : TokenFailures.Classify(context.AuthenticateFailure);
        if (context.AuthenticateFailure is BrokerMetadataUnavailableException || failure == TokenFailure.DPoPReplayCacheUnavailable)
        {
            // Nothing is wrong with the token or proof: we cannot check any. 503 tells the client not to fetch a new one.
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "5";
            response.Headers.CacheControl = "no-store";
            return Task.CompletedTask;
        }

        // RFC 9449 §7.2, RFC 9110 §11.6.1: both schemes are offered, Bearer first (where MCP clients look for
        // resource_metadata), DPoP with the proof algorithms it accepts (§7.1). RFC 6750 §3.1: no error code when the
        // request carried no token. The error goes in the challenge of the scheme the token came with, except a proof
        // or nonce error, which only DPoP has (§7.1, §9).
        string? bearerError = null, dpopError = null, description = null;
        if (failure is { } refused)
        {
            description = TokenFailures.Describe(refused);
            var error = refused switch
            {
                TokenFailure.DPoPProof => DPoPConstants.InvalidDPoPProof,
                TokenFailure.DPoPNonce => DPoPConstants.UseDPoPNonce,
                _ => "invalid_token",
            };
            if (error != "invalid_token" || PresentedSchemeOf(context.HttpContext) == PresentedScheme.DPoP)
            {
                dpopError = error;
            }
            else
            {
                bearerError = error;
            }
        }

        var nonce = PresentedSchemeOf(context.HttpContext) == PresentedScheme.DPoP ? _dpop.IssueNonce() : null;
        if (nonce is not null)
        {
            response.Headers[DPoPConstants.NonceHeaderName] = nonce;
        }

        Challenges.Write(response, StatusCodes.Status401Unauthorized,
            Challenges.Bearer(_resourceMetadata, bearerError, bearerError is null ? null : description),
            Challenges.DPoP(_resourceMetadata, _dpop.Algorithms, dpopError, dpopError is null ? null : description));
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
    /// The token's confirmation (<c>cnf</c>) against the request. RFC 8705 §3: a token bound with <c>x5t#S256</c> is
    /// accepted only over a TLS connection whose client certificate has that SHA-256 thumbprint. RFC 9449 §7.1: a token
    /// bound with <c>jkt</c> only with the <c>DPoP</c> scheme and a proof for this request signed with that key; §7.2:
    /// never as a bearer token (a downgrade would undo the binding). A token that is not DPoP-bound is refused with the
    /// <c>DPoP</c> scheme, whose client claims a binding the token lacks. Any other confirmation method refuses the token.
    /// </summary>
    /// <returns>The failure, or the certificate thumbprint or DPoP key thumbprint the token is bound to (or neither).</returns>
    private async ValueTask<(TokenFailure? Failure, string? CertificateThumbprint, string? KeyThumbprint)> CheckBindingAsync(
        HttpContext context, JsonElement claims, string token)
    {
        var scheme = PresentedSchemeOf(context);
        var (method, bound) = ReadConfirmation(claims);
        if (method == Confirmation.Unsupported)
        {
            return (TokenFailure.UnsupportedBinding, null, null);
        }

        if (method != Confirmation.Key)
        {
            if (scheme == PresentedScheme.DPoP)
            {
                return (TokenFailure.NotDPoPBound, null, null);
            }

            if (_dpop.RequireBoundTokens)
            {
                return (TokenFailure.DPoPRequired, null, null);
            }
        }

        switch (method)
        {
            case Confirmation.None:
                return (null, null, null);

            case Confirmation.Certificate:
                if (context.Connection.ClientCertificate?.RawData is not { } certificate)
                {
                    return (TokenFailure.CertificateBinding, null, null);
                }

                var presented = Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(SHA256.HashData(certificate)));
                return CryptographicOperations.FixedTimeEquals(presented, Encoding.ASCII.GetBytes(bound!))
                    ? (null, bound, null)
                    : (TokenFailure.CertificateBinding, null, null);

            default:
                if (scheme != PresentedScheme.DPoP)
                {
                    return (TokenFailure.DPoPDowngrade, null, null);
                }

                if (await _dpop.CheckAsync(context, token, bound!) is not { } refused)
                {
                    return (null, null, bound);
                }

                Log.DPoPProofRejected(_logger, refused.IsKeyMismatch ? "key_mismatch" : refused.Error.ToReasonCode());
                return (refused.IsKeyMismatch ? TokenFailure.DPoPKeyMismatch : refused.Error switch
                {
                    DPoPProofError.ReplayCacheUnavailable => TokenFailure.DPoPReplayCacheUnavailable,
                    DPoPProofError.MissingNonce or DPoPProofError.WrongNonce or DPoPProofError.StaleNonce => TokenFailure.DPoPNonce,
                    _ => TokenFailure.DPoPProof,
                }, null, null);
        }
    }

    /// <summary><c>cnf</c>, when present, is an object with exactly one member: <c>x5t#S256</c> or <c>jkt</c>, a string.</summary>
    private static (Confirmation Method, string? Value) ReadConfirmation(JsonElement claims)
    {
        if (!claims.TryGetProperty("cnf", out var cnf))
        {
            return (Confirmation.None, null);
        }

        if (cnf.ValueKind != JsonValueKind.Object)
        {
            return (Confirmation.Unsupported, null);
        }

        (Confirmation Method, string? Value) found = (Confirmation.Unsupported, null);
        foreach (var member in cnf.EnumerateObject())
        {
            var method = member.Name switch
            {
                "x5t#S256" => Confirmation.Certificate,
                DPoPConstants.ConfirmationMember => Confirmation.Key,
                _ => Confirmation.Unsupported,
            };
            if (method == Confirmation.Unsupported || member.Value.ValueKind != JsonValueKind.String
                || member.Value.GetString() is not { Length: > 0 } value || found.Value is not null)
            {
                return (Confirmation.Unsupported, null);
            }

            found = (method, value);
        }

        return found;
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
    /// <summary>The context of the <c>caller</c> claim; unknown kinds when it is absent, null when it is malformed.</summary>
    private static BrokerCallerContext? ReadCallerContext(JsonElement claims, string subject, IReadOnlyList<string> actors)
    {
        if (!claims.TryGetProperty("caller", out var claim))
        {
            return BrokerCallerContext.From(null, subject, actors);
        }

        return claim.ValueKind == JsonValueKind.String ? BrokerCallerContext.From(claim.GetString() ?? string.Empty, subject, actors) : null;
    }

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

    private enum Confirmation
    {
        None,
        Certificate,
        Key,
        Unsupported,
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
