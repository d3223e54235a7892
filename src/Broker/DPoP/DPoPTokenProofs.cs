using Broker.Errors;
using Broker.Jose.DPoP;
using Broker.Tokens;
using Microsoft.Extensions.Options;

namespace Broker.DPoP;

/// <summary>
/// Checks the DPoP proof of a token request (RFC 9449 §5) with <see cref="DPoPProofValidator"/>, and hands out the
/// server nonces when they are required (§8). One instance per process.
/// </summary>
/// <remarks>
/// The proof's <c>htu</c> is compared with the token endpoint's URL as the configured issuer names it (the
/// <c>token_endpoint</c> of the RFC 8414 metadata), never with one built from the request's <c>Host</c> header: behind
/// a load balancer or TLS terminator the broker sees another scheme, host and port than the client used, and a
/// <c>Host</c> the client chose would let a proof made for another server pass.
/// </remarks>
internal sealed class DPoPTokenProofs
{
    private readonly DPoPOptions _options;
    private readonly DPoPProofValidatorOptions _validatorOptions;
    private readonly IDPoPReplayCache _replayCache;
    private readonly IDPoPNonceKeySource _nonceKeys;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<DPoPTokenProofs> _logger;
    private readonly DPoPTelemetry _telemetry;
    private volatile DPoPProofValidator? _validator;
    private volatile DPoPNonce? _nonce;

    public DPoPTokenProofs(
        IOptions<DPoPOptions> options,
        IOptions<BrokerOptions> broker,
        IDPoPReplayCache replayCache,
        IDPoPNonceKeySource nonceKeys,
        TimeProvider timeProvider,
        ILogger<DPoPTokenProofs> logger,
        DPoPTelemetry telemetry)
    {
        _telemetry = telemetry;
        _options = options.Value;
        _validatorOptions = _options.ToValidatorOptions();
        _replayCache = replayCache;
        _nonceKeys = nonceKeys;
        _timeProvider = timeProvider;
        _logger = logger;
        TokenEndpointUri = broker.Value.Issuer!.TrimEnd('/') + OAuth.OAuthRoutes.TokenPath;
        if (!_options.RequireNonce)
        {
            _validator = new DPoPProofValidator(_validatorOptions, replayCache, timeProvider);
        }
    }

    /// <summary>The URL every proof's <c>htu</c> must name: the issuer followed by the token endpoint's path.</summary>
    public string TokenEndpointUri { get; }

    /// <summary>The accepted proof algorithms, for <c>dpop_signing_alg_values_supported</c>.</summary>
    public IReadOnlyList<string> Algorithms => _validatorOptions.Algorithms;

    /// <summary>True when every proof must carry a server nonce.</summary>
    public bool RequireNonce => _options.RequireNonce;

    /// <summary>
    /// Checks the request's <c>DPoP</c> header: <see cref="DPoPProofCheck.None"/> when there is none (a bearer request),
    /// the thumbprint of the proof's key when the proof passes, and the catalog entry of the refusal otherwise.
    /// </summary>
    public async ValueTask<DPoPProofCheck> CheckAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // An absent header is a bearer request; an empty one is a client that meant to send a proof (refused below).
        if (!request.Headers.TryGetValue(DPoPConstants.HeaderName, out var proofs))
        {
            return DPoPProofCheck.None;
        }

        if (await ValidatorAsync(cancellationToken) is not { } validator)
        {
            _telemetry.Refused("nonce_unavailable");
            return new DPoPProofCheck(null, ErrorCatalog.DPoPNonceUnavailable);
        }

        // htm is the request's own method (only POST reaches here); htu the configured URL (see remarks).
        var result = await validator.ValidateAsync(proofs, request.Method, TokenEndpointUri, accessToken: null, cancellationToken);
        if (result is DPoPProofResult.Invalid invalid)
        {
            Log.ProofRefused(_logger, invalid.ReasonCode);
            _telemetry.Refused(invalid.ReasonCode);
            return new DPoPProofCheck(null, ErrorCatalog.ForDPoP(invalid.Error));
        }

        return new DPoPProofCheck(((DPoPProofResult.Valid)result).Thumbprint, null);
    }

    /// <summary>A current nonce for <c>DPoP-Nonce</c> when nonces are required (RFC 9449 §8.2), else null.</summary>
    public async ValueTask<string?> IssueNonceAsync(CancellationToken cancellationToken)
    {
        if (!_options.RequireNonce)
        {
            return null;
        }

        await ValidatorAsync(cancellationToken);
        return _nonce?.Issue();
    }

    /// <summary>
    /// The validator; with nonces, built once their key is known. Two requests racing here may both build one: the key
    /// is the same for both (Redis keeps the first one stored), so either will do.
    /// </summary>
    private async ValueTask<DPoPProofValidator?> ValidatorAsync(CancellationToken cancellationToken)
    {
        if (_validator is { } validator)
        {
            return validator;
        }

        if (await _nonceKeys.GetKeyAsync(cancellationToken) is not { } key)
        {
            return null;
        }

        var nonce = new DPoPNonce(new DPoPNonceOptions { Key = key, Step = _options.NonceStep }, _timeProvider);
        _nonce = nonce;
        Log.NonceKeySelected(_logger, _nonceKeys.Description);
        return _validator = new DPoPProofValidator(_validatorOptions, _replayCache, _timeProvider, nonce);
    }
}

/// <summary>What <see cref="DPoPTokenProofs.CheckAsync"/> found: no proof, a proof's key thumbprint, or a refusal.</summary>
/// <param name="Thumbprint">The RFC 7638 thumbprint of the proof's key: the token's <c>cnf.jkt</c>.</param>
/// <param name="Error">The refusal.</param>
internal readonly record struct DPoPProofCheck(string? Thumbprint, ErrorDescriptor? Error)
{
    /// <summary>No <c>DPoP</c> header: a bearer request.</summary>
    public static DPoPProofCheck None => default;
}
