// Broker.Client — the agent side of the Broker.

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Client.Internal;
using Broker.Jose.DPoP;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Client;

/// <summary>
/// Exchanges the agent's workload identity for capability tokens at the broker's RFC 8693 token endpoint.
/// Each call is one exchange; use <see cref="CapabilityTokenCache"/> (or <see cref="CapabilityTokenHandler"/>)
/// to reuse tokens.
/// </summary>
public sealed class BrokerClient
{
    // The broker's answers are a few kilobytes; anything far larger is not the broker.
    private const int MaxResponseBytes = 64 * 1024;

    // RFC 6749 §5.2: error and error_description are printable ASCII without '"' and '\'.
    private const int MaxErrorDescriptionLength = 512;

    private static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly MediaTypeWithQualityHeaderValue Json = new("application/json");

    private readonly HttpClient _httpClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DPoPKey? _dpopKey;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">
    /// The HTTP client for the broker; not disposed by this class. Its handler should not follow redirects
    /// (<c>AllowAutoRedirect = false</c>, as <c>AddBrokerClient</c> configures it): a followed 307 or 308 would send
    /// the subject token to wherever the redirect points.
    /// </param>
    /// <param name="options">The configuration; read, not copied, so do not change it afterwards.</param>
    /// <param name="timeProvider">Clock for expiry and retry delays; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="logger">Logger; none by default.</param>
    /// <param name="dpopKey">
    /// The agent's DPoP key, which tokens are bound to when <see cref="BrokerClientOptions.UseDPoP"/> is on; not disposed
    /// by this class. By default a new one for this client (share one per agent: <c>AddBrokerClient</c> does).
    /// </param>
    /// <exception cref="ArgumentException">The options are incomplete or insecure (for example an http endpoint off loopback).</exception>
    public BrokerClient(HttpClient httpClient, BrokerClientOptions options, TimeProvider? timeProvider = null, ILogger<BrokerClient>? logger = null, DPoPKey? dpopKey = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        BrokerClientOptionsValidator.ThrowIfInvalid(options);
        _httpClient = httpClient;
        Options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _dpopKey = options.UseDPoP ? dpopKey ?? new DPoPKey(_timeProvider) : null;
    }

    internal BrokerClientOptions Options { get; }

    /// <summary>The key tokens are bound to; null when <see cref="BrokerClientOptions.UseDPoP"/> is off.</summary>
    public DPoPKey? DPoPKey => _dpopKey;

    /// <summary>Exchanges the subject token (and actor token, if configured) for a capability token.</summary>
    /// <param name="request">What the token is for; task ID, purpose and lifetime default from the options.</param>
    /// <param name="cancellationToken">Cancels the exchange, including a wait before a retry.</param>
    /// <exception cref="ArgumentException">The request names no target, or has no task ID or purpose.</exception>
    /// <exception cref="BrokerExchangeException">The broker refused the exchange, or its answer was unreadable.</exception>
    /// <exception cref="HttpRequestException">The broker could not be reached.</exception>
    public async Task<CapabilityToken> ExchangeAsync(CapabilityRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var resolved = request.Resolve(Options);
        var subject = await Options.SubjectTokenSource!.GetAsync(cancellationToken).ConfigureAwait(false);
        var actor = Options.ActorTokenSource is { } actorSource ? await actorSource.GetAsync(cancellationToken).ConfigureAwait(false) : null;
        var form = Form(resolved, subject, actor);
        var target = resolved.Resource ?? resolved.Audience!;

        var nonceRetried = false;
        for (var attempt = 1; ; attempt++)
        {
            var sentAt = _timeProvider.GetUtcNow();
            using var message = new HttpRequestMessage(HttpMethod.Post, Options.TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
            message.Headers.Accept.Add(Json);
            if (_dpopKey is not null)
            {
                // RFC 9449 §5: a proof of the agent's key with the token request, so the token is bound to it. A new
                // proof for every attempt: each jti is used once.
                message.Headers.TryAddWithoutValidation(DPoPConstants.HeaderName, _dpopKey.CreateProof(HttpMethod.Post, Options.TokenEndpoint!));
            }

            using var response = await _httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var nonceSent = _dpopKey?.RememberNonce(Options.TokenEndpoint!, response) == true;

            // RFC 6749 §5.2 temporarily_unavailable: the broker could not record the grant; it says when to come
            // back (RFC 9110 §10.2.3). Only 503 is retried: a 4xx will not change by asking again.
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt <= Options.MaxRetries)
            {
                var delay = RetryDelay(response.Headers.RetryAfter);
                Log.ExchangeRetrying(_logger, response.StatusCode, attempt, Options.MaxRetries, delay);
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var body = await ReadBoundedAsync(response, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var token = ReadToken(body, resolved, sentAt, _dpopKey);
                if (_dpopKey is not null && token.Key is null)
                {
                    Log.BearerFallback(_logger, token.Scope);
                }

                Log.ExchangeSucceeded(_logger, token.Scope, target, token.Lifetime);
                return token;
            }

            var error = ReadError(body, response.StatusCode);

            // RFC 9449 §8: the broker wants a nonce of its own in the proof, and sent one. Once: a broker that refuses
            // its own fresh nonce will not change its mind.
            if (error.Error == DPoPConstants.UseDPoPNonce && nonceSent && !nonceRetried)
            {
                nonceRetried = true;
                Log.DPoPNonceRetry(_logger, Options.TokenEndpoint!.Host);
                attempt--; // not one of the MaxRetries, which count 503s
                continue;
            }

            Log.ExchangeRefused(_logger, resolved.Scope, target, error.Error, (int)error.StatusCode);
            throw error;
        }
    }

    private static List<KeyValuePair<string, string>> Form(CapabilityRequest request, SubjectToken subject, SubjectToken? actor)
    {
        var form = new List<KeyValuePair<string, string>>(12)
        {
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subject.Token),
            new("subject_token_type", subject.TokenType),
            new("scope", request.Scope),
            new("task_id", request.TaskId!),
            new("purpose", request.Purpose!),
        };
        if (request.Resource is not null)
        {
            form.Add(new("resource", request.Resource));
        }

        if (request.Audience is not null)
        {
            form.Add(new("audience", request.Audience));
        }

        if (request.Lifetime is { } lifetime)
        {
            form.Add(new("expires_in", ((long)lifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
        }

        if (actor is not null)
        {
            form.Add(new("actor_token", actor.Token));
            form.Add(new("actor_token_type", actor.TokenType));
        }

        return form;
    }

    private TimeSpan RetryDelay(RetryConditionHeaderValue? retryAfter)
    {
        var delay = retryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - _timeProvider.GetUtcNow(),
            _ => DefaultRetryDelay,
        };

        // A Retry-After in the past means now; one far in the future is cut so a single answer cannot park the agent.
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > Options.MaxRetryDelay ? Options.MaxRetryDelay : delay;
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxResponseBytes)
        {
            throw new BrokerExchangeException(BrokerExchangeException.InvalidResponse, null, response.StatusCode);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > MaxResponseBytes)
                {
                    throw new BrokerExchangeException(BrokerExchangeException.InvalidResponse, null, response.StatusCode);
                }

                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
    }

    /// <summary>
    /// RFC 8693 §2.2.1 success response. <c>token_type</c> <c>DPoP</c> (RFC 9449 §5) only when a proof was sent; a
    /// broker without DPoP answers <c>Bearer</c>, and the token is used as one.
    /// </summary>
    private static CapabilityToken ReadToken(byte[] body, CapabilityRequest request, DateTimeOffset sentAt, DPoPKey? key)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("access_token", out var accessToken) && accessToken.ValueKind == JsonValueKind.String && accessToken.GetString() is { Length: > 0 } token
                && root.TryGetProperty("token_type", out var tokenType) && tokenType.ValueKind == JsonValueKind.String
                && (string.Equals(tokenType.GetString(), "Bearer", StringComparison.OrdinalIgnoreCase)
                    || (key is not null && string.Equals(tokenType.GetString(), DPoPConstants.TokenType, StringComparison.OrdinalIgnoreCase)))
                && root.TryGetProperty("expires_in", out var expiresIn) && expiresIn.ValueKind == JsonValueKind.Number && expiresIn.TryGetInt64(out var seconds) && seconds > 0)
            {
                // RFC 8693 §2.2.1: scope may be omitted when it is the requested one.
                var scope = root.TryGetProperty("scope", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : request.Scope;
                var issuedTokenType = root.TryGetProperty("issued_token_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : SubjectTokenTypes.AccessToken;

                // Counting from when the request was sent keeps ExpiresAt at or before the broker's exp.
                var bound = string.Equals(tokenType.GetString(), DPoPConstants.TokenType, StringComparison.OrdinalIgnoreCase);
                return new CapabilityToken(token, sentAt.AddSeconds(seconds), scope, issuedTokenType, sentAt, bound ? key : null);
            }
        }
        catch (JsonException)
        {
            // Not JSON: reported below like any other unreadable answer, without echoing the body (it may hold a token).
        }

        throw new BrokerExchangeException(BrokerExchangeException.InvalidResponse, null, HttpStatusCode.OK);
    }

    /// <summary>RFC 6749 §5.2 error response.</summary>
    private static BrokerExchangeException ReadError(byte[] body, HttpStatusCode status)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                && error.GetString() is { Length: > 0 and <= 64 } code && code.All(IsErrorChar))
            {
                var description = root.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? Printable(d.GetString()!) : null;
                return new BrokerExchangeException(code, description, status);
            }
        }
        catch (JsonException)
        {
            // A proxy's HTML page, for example.
        }

        return new BrokerExchangeException(BrokerExchangeException.InvalidResponse, null, status);
    }

    private static bool IsErrorChar(char c) => c is >= ' ' and <= '~' and not '"' and not '\\';

    private static string Printable(string description)
    {
        var text = new string(description.Where(IsErrorChar).Take(MaxErrorDescriptionLength).ToArray());
        return text.Length > 0 ? text : "(none)";
    }
}
