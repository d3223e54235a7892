using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Jose.DPoP;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Client.Tests.Infrastructure;

/// <summary>
/// What RFC 9449 says a token endpoint and a resource server do, on real Kestrel, with the broker's own proof
/// validator: the token endpoint checks the proof and binds its token to the proof's key (<c>cnf.jkt</c>, §5, §6); the
/// resource server checks the proof of each request with <c>ath</c> and the key against <c>cnf.jkt</c> (§7). Either can
/// demand its own nonce (§8, §9). Every verdict is recorded.
/// </summary>
public sealed class DPoPStandIn : IAsyncDisposable
{
    private readonly StubServer _server;

    private DPoPStandIn(StubServer server, Options options)
    {
        _server = server;
        Settings = options;
    }

    public Uri BaseAddress => _server.BaseAddress;

    public Uri TokenEndpoint => new(BaseAddress, "/oauth2/token");

    public Uri Endpoint => new(BaseAddress, "/mcp");

    public ConcurrentQueue<RecordedRequest> Requests => _server.Requests;

    /// <summary>The validator's verdict on each request's proof, in order (null: no proof was looked at).</summary>
    public ConcurrentQueue<DPoPProofResult?> Verdicts { get; } = new();

    /// <summary>The nonces this server sent.</summary>
    public ConcurrentQueue<string> NoncesSent { get; } = new();

    public Options Settings { get; }

    /// <summary>A token endpoint: binds a token to the proof's key and answers <c>token_type</c> <c>DPoP</c>.</summary>
    public static Task<DPoPStandIn> BrokerAsync(Options? options = null) => StartAsync(options ?? new Options(), isBroker: true);

    /// <summary>A resource server at <c>/mcp</c>: honours a DPoP-bound token with its proof; 200 or 401.</summary>
    public static Task<DPoPStandIn> ResourceAsync(Options? options = null) => StartAsync(options ?? new Options(), isBroker: false);

    private static async Task<DPoPStandIn> StartAsync(Options options, bool isBroker)
    {
        var nonce = options.RequireNonce ? new DPoPNonce(new DPoPNonceOptions { Key = RandomNumberGenerator.GetBytes(32) }, TimeProvider.System) : null;
        var validator = new DPoPProofValidator(new DPoPProofValidatorOptions(), new InMemoryDPoPReplayCache(TimeProvider.System), TimeProvider.System, nonce);
        DPoPStandIn? standIn = null;
        var server = await StubServer.StartAsync(async (context, number) =>
        {
            // The stub records the request before answering; the stand-in exists by the time a request arrives.
            await (isBroker ? standIn!.TokenAsync(context, number, validator, nonce) : standIn!.ResourceAsync(context, number, validator, nonce));
        });
        standIn = new DPoPStandIn(server, options);
        return standIn;
    }

    private async Task TokenAsync(HttpContext context, int number, DPoPProofValidator validator, DPoPNonce? nonce)
    {
        var proofs = context.Request.Headers[DPoPConstants.HeaderName];
        if (proofs.Count == 0)
        {
            Verdicts.Enqueue(null);
            await JsonAsync(context, 200, new { access_token = Token(null), token_type = "Bearer", expires_in = 300, scope = "tools.call", issued_token_type = "urn:ietf:params:oauth:token-type:access_token" });
            return;
        }

        var result = await validator.ValidateAsync(proofs, context.Request.Method, UriOf(context.Request));
        Verdicts.Enqueue(result);
        if (result is DPoPProofResult.Invalid invalid || (Settings.NonceChallengeAlways && nonce is not null))
        {
            // RFC 9449 §8: 400 use_dpop_nonce with a fresh nonce; §5: 400 invalid_dpop_proof otherwise.
            var error = result is DPoPProofResult.Invalid refused ? refused.OAuthError : DPoPConstants.UseDPoPNonce;
            if (error == DPoPConstants.UseDPoPNonce)
            {
                SendNonce(context, nonce!);
            }

            await JsonAsync(context, 400, new { error, error_description = "The DPoP proof was refused." });
            return;
        }

        if (nonce is not null)
        {
            SendNonce(context, nonce);
        }

        var valid = (DPoPProofResult.Valid)result;
        await JsonAsync(context, 200, new
        {
            access_token = Token(Settings.AnswerBearer ? null : valid.Thumbprint),
            token_type = Settings.AnswerBearer ? "Bearer" : "DPoP",
            expires_in = 300,
            scope = "tools.call",
            issued_token_type = "urn:ietf:params:oauth:token-type:access_token",
        });
    }

    private async Task ResourceAsync(HttpContext context, int number, DPoPProofValidator validator, DPoPNonce? nonce)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (Settings.InvalidTokenOn.Contains(number))
        {
            Verdicts.Enqueue(null);
            Challenge(context, "invalid_token", nonce: null);
            return;
        }

        if (!authorization.StartsWith("DPoP ", StringComparison.Ordinal))
        {
            // A bearer token: accepted when it is not DPoP-bound (§7.2), as a resource server that takes both would.
            Verdicts.Enqueue(null);
            var bound = authorization.StartsWith("Bearer ", StringComparison.Ordinal) && BoundKey(authorization["Bearer ".Length..]) is not null;
            context.Response.StatusCode = bound ? 401 : 200;
            return;
        }

        var token = authorization["DPoP ".Length..];
        var result = await validator.ValidateAsync(context.Request.Headers[DPoPConstants.HeaderName], context.Request.Method, UriOf(context.Request), token);
        Verdicts.Enqueue(result);
        if (Settings.NonceChallengeAlways && nonce is not null)
        {
            Challenge(context, DPoPConstants.UseDPoPNonce, nonce);
            return;
        }

        if (result is DPoPProofResult.Invalid invalid)
        {
            Challenge(context, invalid.OAuthError, invalid.IsNonceChallenge ? nonce : null);
            return;
        }

        // §7.1: the proof's key is the token's.
        if (((DPoPProofResult.Valid)result).Thumbprint != BoundKey(token))
        {
            Challenge(context, "invalid_token", nonce: null);
            return;
        }

        if (nonce is not null)
        {
            SendNonce(context, nonce);
        }

        await context.Response.WriteAsync("{\"jsonrpc\":\"2.0\",\"id\":" + number + ",\"result\":{}}");
    }

    /// <summary>The <c>cnf.jkt</c> of a token this stand-in issued; null for a bearer one.</summary>
    public static string? BoundKey(string token)
    {
        var parts = token.Split('.');
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1]));
        return payload.RootElement.TryGetProperty("cnf", out var cnf) ? cnf.GetProperty("jkt").GetString() : null;
    }

    private static string Token(string? thumbprint)
    {
        // Not signed: only this stand-in reads it. A fresh jti so every exchange's token differs.
        var claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString("N") };
        if (thumbprint is not null)
        {
            claims["cnf"] = new Dictionary<string, string> { ["jkt"] = thumbprint };
        }

        return Base64UrlEncoder.Encode("""{"alg":"ES256","typ":"at+jwt"}""") + "." + Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims)) + ".c2ln";
    }

    private void SendNonce(HttpContext context, DPoPNonce nonce)
    {
        var value = nonce.Issue();
        NoncesSent.Enqueue(value);
        context.Response.Headers[DPoPConstants.NonceHeaderName] = value;
    }

    private void Challenge(HttpContext context, string error, DPoPNonce? nonce)
    {
        if (nonce is not null)
        {
            SendNonce(context, nonce);
        }

        context.Response.StatusCode = 401;
        context.Response.Headers.WWWAuthenticate = new[] { "Bearer", $"DPoP error=\"{error}\", algs=\"ES256\"" };
    }

    private static string UriOf(HttpRequest request) => UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, request.Path);

    private static async Task JsonAsync(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body)));
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    public sealed class Options
    {
        /// <summary>Demand a nonce of this server in every proof (RFC 9449 §8, §9).</summary>
        public bool RequireNonce { get; init; }

        /// <summary>Answer use_dpop_nonce to every request, even with a good nonce: a server that never settles.</summary>
        public bool NonceChallengeAlways { get; init; }

        /// <summary>The token endpoint answers token_type Bearer (an old broker), binding nothing.</summary>
        public bool AnswerBearer { get; init; }

        /// <summary>Request numbers the resource server answers 401 invalid_token (a revoked token).</summary>
        public int[] InvalidTokenOn { get; init; } = [];
    }
}
