using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.AuthZen;

/// <summary>
/// Sends Access Evaluation requests (OpenID AuthZEN Authorization API 1.0 §6, HTTPS binding) to the decision points
/// policy declares, and reads their decisions, failing closed: anything but a 200 <c>application/json</c> answer whose
/// top-level <c>decision</c> is a JSON boolean, within the decision point's timeout and the size limit, is no decision.
/// </summary>
/// <remarks>
/// Only the URL policy names is ever called: no discovery, no redirects (the handler follows none), no cookies. Each
/// decision point has a bound on calls in flight and a circuit breaker (<see cref="DecisionPointCircuit"/>), so a slow or
/// failing one costs an exchange at most its timeout and soon costs nothing. The bearer credential is read from the
/// secrets directory on each call (rotation needs no restart) and never logged.
/// </remarks>
internal sealed class DecisionPointClient(
    IHttpClientFactory httpClients,
    IOptions<AuthZenOptions> options,
    TimeProvider timeProvider,
    ILogger<DecisionPointClient> logger)
{
    /// <summary>The named HTTP client (no redirects, no cookies).</summary>
    public const string HttpClientName = "Broker.AuthZen";

    private const int MaxSecretLength = 4096;

    private static readonly MediaTypeWithQualityHeaderValue Json = new("application/json");

    private readonly AuthZenOptions _options = options.Value;
    private readonly DecisionPointHosts _allowedHosts = options.Value.ResolveAllowedHosts();
    private readonly ConcurrentDictionary<string, DecisionPointCircuit> _circuits = new(StringComparer.Ordinal);

    /// <summary>Evaluates <paramref name="body"/> at <paramref name="point"/>.</summary>
    public async ValueTask<AuthZenAnswer> EvaluateAsync(DecisionPoint point, byte[] body, string requestId, CancellationToken cancellationToken)
    {
        // Defence in depth: the loader refuses a decision point on a host the operator does not allow, but a policy
        // set built another way (or a loader bug) must still not make the broker POST to an internal URL.
        if (!_allowedHosts.Allows(point.EvaluationEndpoint))
        {
            Log.DecisionPointHostRefused(logger, point.Tenant, point.Name, point.EvaluationEndpoint.Authority);
            return AuthZenAnswer.Unavailable("host not allowed");
        }

        // One circuit per declared decision point; a reloaded policy that changes its URL gets a fresh one.
        var circuit = _circuits.GetOrAdd(
            string.Join('\n', point.Tenant, point.Name, point.EvaluationEndpoint.AbsoluteUri),
            _ => new DecisionPointCircuit(_options.MaxConcurrentRequests, _options.FailuresToOpenCircuit, _options.OpenCircuitFor));
        if (circuit.TryEnter(timeProvider.GetUtcNow(), out var trial) is { } refused)
        {
            return AuthZenAnswer.Unavailable(refused);
        }

        var answer = AuthZenAnswer.Unavailable("cancelled");
        bool? answered = null;
        try
        {
            answer = await SendAsync(point, body, requestId, cancellationToken);
            answered = answer.Verdict != AuthZenVerdict.Unavailable;
            return answer;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The exchange went away: no decision, and no failure of the decision point's.
            return answer;
        }
        finally
        {
            switch (circuit.Exit(answered, trial, timeProvider.GetUtcNow()))
            {
                case DecisionPointCircuit.CircuitChange.Opened:
                    Log.CircuitOpened(logger, point.Tenant, point.Name, _options.FailuresToOpenCircuit, _options.OpenCircuitFor);
                    break;
                case DecisionPointCircuit.CircuitChange.Closed:
                    Log.CircuitClosed(logger, point.Tenant, point.Name);
                    break;
            }
        }
    }

    private async Task<AuthZenAnswer> SendAsync(DecisionPoint point, byte[] body, string requestId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(point.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, point.EvaluationEndpoint)
            {
                Content = new ByteArrayContent(body),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Accept.Add(Json);

            // The HTTPS binding's request identifier (X-Request-ID): one the decision point may log and echo, and the broker logs too.
            request.Headers.TryAddWithoutValidation("X-Request-ID", requestId);
            if (point.BearerTokenSecret is { } secretName)
            {
                if (await ReadSecretAsync(secretName, linked.Token) is not { } secret)
                {
                    return AuthZenAnswer.Unavailable("bearer_token_secret unreadable");
                }

                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            }

            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);

            // A decision, permit or deny, always comes with 200 (HTTPS binding: errors are HTTP statuses, decisions are not); any other status is an error, whatever its body.
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return AuthZenAnswer.Unavailable($"HTTP {(int)response.StatusCode}");
            }

            if (!string.Equals(response.Content.Headers.ContentType?.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
            {
                return AuthZenAnswer.Unavailable("answer not application/json");
            }

            if (response.Content.Headers.ContentLength > _options.MaxResponseBytes
                || await ReadBoundedAsync(response.Content, _options.MaxResponseBytes, linked.Token) is not { } answer)
            {
                return AuthZenAnswer.Unavailable("answer too large");
            }

            return ReadDecision(answer) switch
            {
                true => AuthZenAnswer.Permit,
                false => AuthZenAnswer.Deny,
                null => AuthZenAnswer.Unavailable("malformed answer"),
            };
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return AuthZenAnswer.Unavailable($"no answer within {point.Timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException ex)
        {
            return AuthZenAnswer.Unavailable($"unreachable ({ex.HttpRequestError})");
        }
        catch (IOException)
        {
            return AuthZenAnswer.Unavailable("connection lost");
        }
    }

    /// <summary>
    /// The top-level <c>decision</c> of an Access Evaluation response (§6.2: REQUIRED, a JSON boolean), or null when the
    /// answer is not one JSON object with exactly one boolean <c>decision</c>: a string "true", a repeated member or
    /// trailing data are refused, not interpreted.
    /// </summary>
    internal static bool? ReadDecision(ReadOnlySpan<byte> answer)
    {
        try
        {
            var reader = new Utf8JsonReader(answer, new JsonReaderOptions { MaxDepth = 32 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            bool? decision = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDecision = reader.ValueTextEquals("decision"u8);
                reader.Read();
                if (isDecision)
                {
                    if (decision is not null || reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    {
                        return null;
                    }

                    decision = reader.GetBoolean();
                }
                else
                {
                    reader.Skip();
                }
            }

            // The object has ended; nothing may follow it.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? decision : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The bearer credential in the secrets directory's file <paramref name="name"/> (a plain name: the policy grammar
    /// admits no separator), trimmed; null when it cannot be read or is not a token68 (RFC 9110 §11.2).
    /// </summary>
    private async Task<string?> ReadSecretAsync(string name, CancellationToken cancellationToken)
    {
        if (_options.SecretsDirectory is not { Length: > 0 } directory)
        {
            return null;
        }

        var root = Path.GetFullPath(directory);
        var path = Path.GetFullPath(Path.Combine(root, name));
        if (!string.Equals(Path.GetDirectoryName(path), Path.TrimEndingDirectorySeparator(root), StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var file = new FileInfo(path);
            if (!file.Exists || file.Length > MaxSecretLength)
            {
                return null;
            }

            var secret = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            return secret.Length > 0 && secret.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '_' or '~' or '+' or '/' or '=')
                ? secret
                : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
