// Broker.Validation — resource servers honour broker tokens.

using System.Security.Cryptography;
using System.Text;
using Broker.Jose.DPoP;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace Broker.Validation.Internal;

/// <summary>
/// The resource server's half of RFC 9449 for one scheme: the proof of a request checked with the broker's
/// <see cref="DPoPProofValidator"/> (§4.3, with <c>ath</c> of the presented token, §7.1), then its key compared with the
/// token's <c>cnf.jkt</c> (§4.3 step 12, §6.1). Optional server nonces (§9).
/// </summary>
internal sealed class DPoPCheck
{
    private readonly DPoPProofValidator _validator;
    private readonly DPoPNonce? _nonce;
    private readonly string? _origin;
    private readonly HostString _originHost;

    public DPoPCheck(DPoPPolicy policy, IDPoPReplayCache replayCache, TimeProvider timeProvider)
    {
        var options = new DPoPProofValidatorOptions
        {
            Algorithms = [.. policy.Algorithms],
            MaxAge = policy.MaxProofAge,
            ClockSkew = policy.ClockSkew,
        };
        _nonce = policy.NonceKey is { } key ? new DPoPNonce(new DPoPNonceOptions { Key = key, Step = policy.NonceStep }, timeProvider) : null;
        _validator = new DPoPProofValidator(options, replayCache, timeProvider, _nonce);
        Algorithms = string.Join(' ', options.Algorithms);
        RequireBoundTokens = policy.RequireBoundTokens;
        if (policy.PublicOrigin is { } origin)
        {
            _origin = origin.Scheme;
            _originHost = HostString.FromUriComponent(origin);
        }
    }

    /// <summary>The <c>algs</c> of a <c>DPoP</c> challenge: the accepted proof algorithms, space-separated (§7.1).</summary>
    public string Algorithms { get; }

    /// <summary>Refuse tokens that are not DPoP-bound.</summary>
    public bool RequireBoundTokens { get; }

    /// <summary>A fresh nonce for <c>DPoP-Nonce</c>; null when this server issues none.</summary>
    public string? IssueNonce() => _nonce?.Issue();

    /// <summary>
    /// Checks the request's proof for <paramref name="token"/>, bound to <paramref name="thumbprint"/>: null when the
    /// proof is good and made with that key; otherwise why not.
    /// </summary>
    public async ValueTask<DPoPFailure?> CheckAsync(HttpContext context, string token, string thumbprint)
    {
        var request = context.Request;
        var uri = RequestUri(request);
        if (!DPoPHtu.TryNormalize(uri, out _))
        {
            // No usable Host (an HTTP/1.0 request without one): no proof can name this request.
            return new DPoPFailure(DPoPProofError.WrongHtu);
        }

        var result = await _validator.ValidateAsync(request.Headers[DPoPConstants.HeaderName], request.Method, uri, token, context.RequestAborted);
        if (result is DPoPProofResult.Invalid invalid)
        {
            return new DPoPFailure(invalid.Error);
        }

        // §4.3 step 12, second half: the proof's key is the token's. A token copied with a proof of the thief's own
        // key ends here. Compared in constant time: both are base64url SHA-256 thumbprints.
        var proven = (DPoPProofResult.Valid)result;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(proven.Thumbprint), Encoding.ASCII.GetBytes(thumbprint))
            ? null
            : new DPoPFailure(DPoPProofError.None);
    }

    /// <summary>
    /// The request's URI as clients address it (§4.3 step 9): the configured public origin, or the request's scheme
    /// and host, then path base and path, escaped as on the wire; the query is not part of <c>htu</c>.
    /// </summary>
    private string RequestUri(HttpRequest request) => _origin is null
        ? UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, request.Path)
        : UriHelper.BuildAbsolute(_origin, _originHost, request.PathBase, request.Path);
}

/// <summary>
/// Why a DPoP check failed: a proof refused by the validator (<see cref="Error"/>), or, with
/// <see cref="DPoPProofError.None"/>, a good proof made with a key other than the token's.
/// </summary>
internal readonly record struct DPoPFailure(DPoPProofError Error)
{
    public bool IsKeyMismatch => Error == DPoPProofError.None;
}
