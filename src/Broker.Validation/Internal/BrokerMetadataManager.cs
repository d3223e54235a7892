// Broker.Validation — resource servers honour broker tokens.

using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Internal;

/// <summary>
/// The broker's RFC 8414 metadata and JWKS for one scheme, as JwtBearer's configuration manager. Fetches only the
/// configured broker's metadata URL and the <c>jwks_uri</c> it names, which must be on the broker's origin; keeps
/// only EC P-256 public keys. Refreshes in the background every <see cref="BrokerTokenOptions.KeyRefreshInterval"/>
/// (keeping the last good keys when the broker is unreachable), and on demand for an unknown <c>kid</c> at most once
/// per <see cref="BrokerTokenOptions.MinimumKeyRefreshInterval"/> (<see cref="EnsureKeyAsync"/>).
/// </summary>
internal sealed class BrokerMetadataManager : IConfigurationManager<OpenIdConnectConfiguration>, IDisposable
{
    private const int MaxKeys = 64;

    private readonly BrokerTokenOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Uri _metadataUri;
    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private Snapshot? _current;
    private long _lastOnDemandRefreshTicks = long.MinValue;
    private int _backgroundRefreshRunning;

    public BrokerMetadataManager(BrokerTokenOptions options, HttpClient http, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _http = http;
        _timeProvider = timeProvider;
        _logger = logger;
        Issuer = IssuerOf(options.Broker!);
        _metadataUri = MetadataUriOf(options.Broker!);
    }

    /// <summary>The issuer every token must name: the configured broker URL as written, without a lone trailing slash.</summary>
    public string Issuer { get; }

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var current = Volatile.Read(ref _current);
        if (current is null)
        {
            return (await RefreshAsync(seen: null, cancel)).Configuration;
        }

        if (_timeProvider.GetUtcNow() >= current.FetchedAt + _options.KeyRefreshInterval && Interlocked.Exchange(ref _backgroundRefreshRunning, 1) == 0)
        {
            // Periodic refresh off the request path; requests keep the current keys meanwhile.
            _ = Task.Run(async () =>
            {
                try
                {
                    await RefreshAsync(current, CancellationToken.None);
                }
                catch (BrokerMetadataUnavailableException)
                {
                    // Logged in FetchAsync; the last good keys stay in force.
                }
                finally
                {
                    Volatile.Write(ref _backgroundRefreshRunning, 0);
                }
            }, CancellationToken.None);
        }

        return current.Configuration;
    }

    /// <summary>JwtBearer asks for this on an unknown key; refresh on unknown <c>kid</c> is <see cref="EnsureKeyAsync"/>'s job.</summary>
    public void RequestRefresh()
    {
    }

    /// <summary>
    /// Makes sure keys are loaded and, when <paramref name="keyId"/> is not among them, refetches once if the
    /// rate limit allows, before the token is validated: a key the broker has just started to use is honoured on
    /// the first request that carries it.
    /// </summary>
    public async ValueTask EnsureKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current) ?? await RefreshAsync(seen: null, cancellationToken);
        if (current.KeyIds.Contains(keyId))
        {
            return;
        }

        var now = _timeProvider.GetUtcNow();
        var last = Interlocked.Read(ref _lastOnDemandRefreshTicks);
        if ((last != long.MinValue && now.UtcTicks - last < _options.MinimumKeyRefreshInterval.Ticks)
            || Interlocked.CompareExchange(ref _lastOnDemandRefreshTicks, now.UtcTicks, last) != last)
        {
            Log.KeyRefreshRateLimited(_logger, _metadataUri);
            return;
        }

        try
        {
            await RefreshAsync(current, cancellationToken);
        }
        catch (BrokerMetadataUnavailableException)
        {
            // Logged in FetchAsync; the token is validated against the keys we have (and refused).
        }
    }

    /// <summary>Single flight: a caller that waited while someone else refreshed takes that result.</summary>
    private async Task<Snapshot> RefreshAsync(Snapshot? seen, CancellationToken cancellationToken)
    {
        await _fetchGate.WaitAsync(cancellationToken);
        try
        {
            var latest = Volatile.Read(ref _current);
            if (latest is not null && !ReferenceEquals(latest, seen))
            {
                return latest;
            }

            var fresh = await FetchAsync(cancellationToken);
            Volatile.Write(ref _current, fresh);
            return fresh;
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    private async Task<Snapshot> FetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.FetchTimeout);

            // RFC 8414 §3.3: the metadata must name exactly the issuer we asked about.
            using var metadata = await GetJsonAsync(_metadataUri, timeout.Token);
            var issuer = GetString(metadata.RootElement, "issuer");
            if (!string.Equals(issuer, Issuer, StringComparison.Ordinal))
            {
                throw new BrokerMetadataUnavailableException($"the metadata names issuer '{issuer}', not '{Issuer}' (RFC 8414 §3.3)");
            }

            // The JWKS must live on the broker's own origin: metadata cannot send us elsewhere.
            if (!Uri.TryCreate(GetString(metadata.RootElement, "jwks_uri"), UriKind.Absolute, out var jwksUri)
                || Uri.Compare(jwksUri, _options.Broker, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
            {
                throw new BrokerMetadataUnavailableException("the metadata's jwks_uri is missing or not on the broker's origin");
            }

            string jwksJson;
            using (var jwks = await GetJsonAsync(jwksUri, timeout.Token))
            {
                jwksJson = jwks.RootElement.GetRawText();
            }

            var configuration = new OpenIdConnectConfiguration { Issuer = issuer, JwksUri = jwksUri.AbsoluteUri };
            var keyIds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var key in new JsonWebKeySet(jwksJson).Keys)
            {
                // ES256 only (the broker's algorithm), public keys only, signing keys only; a kid is required
                // because tokens are matched to keys by kid alone.
                if (key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && key.Crv == JsonWebKeyECTypes.P256
                    && !key.HasPrivateKey && !string.IsNullOrEmpty(key.Kid)
                    && (string.IsNullOrEmpty(key.Use) || key.Use == JsonWebKeyUseNames.Sig)
                    && (string.IsNullOrEmpty(key.Alg) || key.Alg == SecurityAlgorithms.EcdsaSha256)
                    && keyIds.Count < MaxKeys && keyIds.Add(key.Kid))
                {
                    configuration.SigningKeys.Add(key);
                }
            }

            if (keyIds.Count == 0)
            {
                throw new BrokerMetadataUnavailableException("the JWKS holds no EC P-256 signing key");
            }

            Log.MetadataFetched(_logger, Issuer, keyIds.Count);
            return new Snapshot(
                configuration,
                keyIds,
                _timeProvider.GetUtcNow(),
                EndpointOf(metadata.RootElement, "revocation_events_endpoint", queryAllowed: true),
                EndpointOf(metadata.RootElement, "status_list_endpoint", queryAllowed: false),
                EndpointOf(metadata.RootElement, "catalog_endpoint", queryAllowed: false));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or ArgumentException or OperationCanceledException or BrokerMetadataUnavailableException)
        {
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            var reason = ex is BrokerMetadataUnavailableException ? ex.Message : ex.GetType().Name;
            Log.MetadataUnavailable(_logger, _metadataUri, reason);
            throw ex as BrokerMetadataUnavailableException ?? new BrokerMetadataUnavailableException(reason, ex);
        }
    }

    private async Task<JsonDocument> GetJsonAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new BrokerMetadataUnavailableException($"GET {uri} answered HTTP {(int)response.StatusCode}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new BrokerMetadataUnavailableException($"GET {uri} did not answer a JSON object");
        }

        return document;
    }

    /// <summary>
    /// The broker's <c>revocation_events_endpoint</c> from the metadata last fetched (fetching it first when none
    /// was), for the revocation feed client. Like the JWKS it must be on the broker's origin: metadata cannot send
    /// this server's workload credential elsewhere.
    /// </summary>
    public async ValueTask<BrokerEndpoint> GetRevocationEventsEndpointAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current) ?? await RefreshAsync(seen: null, cancellationToken);
        return current.RevocationEvents;
    }

    /// <summary>
    /// The broker's <c>status_list_endpoint</c> (the base of its tenants' Token Status Lists) from the metadata last
    /// fetched, for the status list client. On the broker's origin, like every URL this library fetches.
    /// </summary>
    public async ValueTask<BrokerEndpoint> GetStatusListEndpointAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current) ?? await RefreshAsync(seen: null, cancellationToken);
        return current.StatusLists;
    }

    /// <summary>
    /// The broker's <c>catalog_endpoint</c> (the base of its capability catalog, docs/catalog.md) from the metadata last
    /// fetched, for the catalog client. On the broker's origin, like every URL this library fetches.
    /// </summary>
    public async ValueTask<BrokerEndpoint> GetCatalogEndpointAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current) ?? await RefreshAsync(seen: null, cancellationToken);
        return current.Catalog;
    }

    /// <summary>
    /// A metadata member naming one of the broker's endpoints, or why it cannot be used. The status list endpoint is a
    /// base that a path segment is appended to, so it may not carry a query.
    /// </summary>
    private BrokerEndpoint EndpointOf(JsonElement metadata, string member, bool queryAllowed)
    {
        if (!metadata.TryGetProperty(member, out var value))
        {
            return new BrokerEndpoint(null, $"the broker's metadata names no {member}");
        }

        if (value.ValueKind != JsonValueKind.String || !Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri)
            || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0 || (!queryAllowed && uri.Query.Length > 0)
            || Uri.Compare(uri, _options.Broker, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            return new BrokerEndpoint(null, $"the metadata's {member} is not a URL on the broker's origin");
        }

        return new BrokerEndpoint(uri, null);
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static string IssuerOf(Uri broker)
    {
        var issuer = broker.OriginalString;
        return broker.AbsolutePath == "/" && issuer.EndsWith('/') ? issuer[..^1] : issuer;
    }

    /// <summary>RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.</summary>
    internal static Uri MetadataUriOf(Uri broker)
    {
        var path = broker.AbsolutePath.TrimEnd('/');
        return new Uri(broker.GetLeftPart(UriPartial.Authority) + BrokerTokenDefaults.AuthorizationServerMetadataPath + path);
    }

    public void Dispose() => _fetchGate.Dispose();

    private sealed record Snapshot(
        OpenIdConnectConfiguration Configuration, HashSet<string> KeyIds, DateTimeOffset FetchedAt, BrokerEndpoint RevocationEvents, BrokerEndpoint StatusLists, BrokerEndpoint Catalog);
}

/// <summary>A URL of the broker's (revocation feed, status lists) from its metadata, or why there is none this server may use.</summary>
internal sealed record BrokerEndpoint(Uri? Uri, string? Refusal);
