// Broker.Validation — resource servers honour broker tokens.

using System.Text;
using System.Text.Json;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broker.Validation.Revocation;

/// <summary>
/// Polls the broker's Token Status List for the scheme's tenant (docs/mcp.md "Token Status List"): discovers
/// <c>status_list_endpoint</c> in the broker's RFC 8414 metadata (on the broker's origin), fetches
/// <c>{endpoint}/{tenant}</c> (no redirects, no credential, bounded size and time), verifies it
/// (<see cref="StatusListTokenReader"/>) against the broker's JWKS and hands it to the
/// <see cref="StatusListRevocationCheck"/>; again after the list's <c>ttl</c> (at most
/// <see cref="StatusListOptions.MaxPollInterval"/>), and with backoff and jitter after a failure. Only that URL is
/// ever fetched: the <c>uri</c> of a token is compared with it, never followed.
/// </summary>
internal sealed class StatusListClient : BrokerEndpointClient
{
    public const string HttpClientName = "Broker.Validation.StatusList";

    private readonly StatusListOptions _options;
    private readonly IOptionsMonitor<BrokerTokenOptions> _brokerOptions;
    private readonly StatusListRevocationCheck _check;
    private readonly ILogger _logger;
    private string? _lastFailure;
    private int _failures;

    public StatusListClient(
        IOptions<StatusListOptions> options,
        IOptionsMonitor<BrokerTokenOptions> brokerOptions,
        IOptionsMonitor<JwtBearerOptions> jwtBearerOptions,
        StatusListRevocationCheck check,
        IHttpClientFactory httpClientFactory,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
        : base(options.Value.Scheme, jwtBearerOptions, httpClientFactory, HttpClientName, timeProvider)
    {
        _options = options.Value;
        _brokerOptions = brokerOptions;
        _check = check;
        _logger = loggerFactory.CreateLogger("Broker.Validation.StatusList");
    }

    /// <summary>The check this client feeds.</summary>
    public StatusListRevocationCheck Check => _check;

    /// <summary>Why the last poll failed; null after a successful one.</summary>
    public string? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>A list is held, has not expired, and is no older (by <c>iat</c>) than <see cref="StatusListOptions.MaxAge"/>.</summary>
    public bool IsFresh => _check.CurrentAsOf is { } asOf && TimeProvider.GetUtcNow() - asOf <= _options.MaxAge;

    /// <summary>The most characters of a list token accepted: twice the uncompressed list, plus room for the rest.</summary>
    private int MaxTokenLength => (int)Math.Min(int.MaxValue, ((long)_options.Capacity / 8 * 2) + 16 * 1024);

    protected override async Task<TimeSpan> RunOnceAsync(CancellationToken stoppingToken)
    {
        try
        {
            var list = await PollAsync(stoppingToken);
            _check.Apply(list);
            Volatile.Write(ref _lastFailure, null);
            _failures = 0;

            // §13.7: fetch again after ttl from the time of fetching; a little early rather than late (jitter
            // spreads the polls of many servers).
            var interval = list.Ttl is { } ttl && ttl < _options.MaxPollInterval ? ttl : _options.MaxPollInterval;
            var delay = interval * (0.8 + (Random.Shared.NextDouble() * 0.2));
            if (delay < TimeSpan.FromSeconds(1))
            {
                delay = TimeSpan.FromSeconds(1);
            }

            Log.StatusListFetched(_logger, list.Uri, list.IssuedAt, delay);
            return delay;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException or FormatException
            or BrokerMetadataUnavailableException or StatusListRejectedException or OperationCanceledException
            && !(ex is OperationCanceledException && stoppingToken.IsCancellationRequested))
        {
            var reason = Describe(ex, "the fetch timed out");
            Volatile.Write(ref _lastFailure, reason);
            _failures++;
            var delay = Backoff.Next(_options.InitialRetryDelay, _failures, _options.MaxRetryDelay);
            Log.StatusListUnavailable(_logger, reason, delay);
            return delay;
        }
    }

    /// <summary>One poll: discover, fetch, verify. Throws on any failure.</summary>
    private async Task<StatusListSnapshot> PollAsync(CancellationToken stoppingToken)
    {
        var broker = _brokerOptions.Get(_options.Scheme);
        var (metadata, endpoint) = await DiscoverAsync((m, ct) => m.GetStatusListEndpointAsync(ct), stoppingToken);
        if (metadata is null || endpoint.Uri is not { } listBase)
        {
            throw new StatusListRejectedException(endpoint.Refusal!);
        }

        // The tenant's list: the base and the tenant as one more path segment (the broker spells it the same way in
        // every token's uri).
        var uri = new Uri(listBase.OriginalString.TrimEnd('/') + "/" + Uri.EscapeDataString(broker.Tenant!));
        _check.Follow(uri.OriginalString);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(broker.FetchTimeout);
        var jwt = await FetchAsync(uri, timeout.Token);

        var configuration = await metadata.GetConfigurationAsync(timeout.Token);
        if (StatusListTokenReader.KeyIdOf(jwt) is { } kid && !configuration.SigningKeys.Any(k => k.KeyId == kid))
        {
            // A key the broker started to use after our last fetch of its JWKS (rate limited like a token's).
            await metadata.EnsureKeyAsync(kid, timeout.Token);
            configuration = await metadata.GetConfigurationAsync(timeout.Token);
        }

        return await StatusListTokenReader.ReadAsync(
            jwt, uri, metadata.Issuer, configuration.SigningKeys, broker.ClockSkew, _options.Capacity, TimeProvider.GetUtcNow());
    }

    private async Task<string> FetchAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        var (answer, refusal) = await GetAsync(request, StatusListTokenReader.MediaType, cancellationToken);
        if (answer is null)
        {
            throw new StatusListRejectedException(refusal!.Status is { } status ? $"GET {uri} answered HTTP {status}" : refusal.Reason);
        }

        using var response = answer;

        // Bounded before it is read whole: a list token is at most about twice the uncompressed list.
        var max = MaxTokenLength;
        if (response.Content.Headers.ContentLength > max)
        {
            throw new StatusListRejectedException($"the list token is longer than {max} bytes");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[Math.Min(max, 64 * 1024) + 1];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length > max)
                {
                    throw new StatusListRejectedException($"the list token is longer than {max} bytes");
                }

                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, (long)max + 1));
            }

            var read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (length > max)
            {
                throw new StatusListRejectedException($"the list token is longer than {max} bytes");
            }
        }

        return Encoding.ASCII.GetString(buffer, 0, length).Trim();
    }
}
