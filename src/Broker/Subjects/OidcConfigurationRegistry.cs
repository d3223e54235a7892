using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// The signing keys of every trusted OIDC issuer: fetched through OIDC discovery (or a configured
/// <c>jwks_uri</c>) with Microsoft.IdentityModel's retriever and JWK parsing, kept at most
/// <see cref="SubjectsOptions.KeyRefreshInterval"/>, and refetched on an unknown <c>kid</c> at most once
/// per <see cref="SubjectsOptions.MinimumKeyRefreshInterval"/>.
/// </summary>
/// <remarks>
/// The schedule is ours, on the broker's <see cref="TimeProvider"/>, rather than Microsoft.IdentityModel's
/// <c>ConfigurationManager</c>: that one refreshes no sooner than 5 minutes, adds random jitter, and
/// reads the system clock, so it cannot promise that a key an issuer removed stops validating cached
/// tokens within the refresh interval. Here it does: a cached identity is trusted only while a key set
/// fetched within the interval still holds the very key (by RFC 7638 thumbprint) that verified it.
/// </remarks>
internal sealed class OidcConfigurationRegistry(
    IHttpClientFactory httpClientFactory,
    IOptions<SubjectsOptions> options,
    PolicyLoadOptions loadOptions,
    TimeProvider timeProvider,
    ILogger<OidcConfigurationRegistry> logger)
{
    /// <summary>The HttpClient name used for issuers.</summary>
    public const string HttpClientName = "broker-oidc-issuers";

    // Keyed by what decides the fetches, so a policy reload keeps every issuer's cached keys.
    private readonly ConcurrentDictionary<(string Issuer, Uri? JwksUri), Issuer> _issuers = new();

    public Issuer Get(OidcIssuerSource source) => _issuers.GetOrAdd((source.Issuer, source.JwksUri), static (_, state) => state.Self.Create(state.Source), (Self: this, Source: source));

    private Issuer Create(OidcIssuerSource source)
    {
        var issuer = new Uri(source.Issuer);
        var discovery = new Uri(source.Issuer.TrimEnd('/') + "/.well-known/openid-configuration");
        var insecure = loadOptions.AllowInsecureLoopbackUrls && issuer.IsLoopback && issuer.Scheme == Uri.UriSchemeHttp;
        var http = new HttpDocumentRetriever(httpClientFactory.CreateClient(HttpClientName)) { RequireHttps = !insecure };
        var retriever = new AllowListDocumentRetriever(http, discovery, source.JwksUri, issuer);
        Func<CancellationToken, Task<JsonWebKeySet>> fetch = source.JwksUri is { } jwksUri
            ? async cancel => new JsonWebKeySet(await retriever.GetDocumentAsync(jwksUri.ToString(), cancel))
            : async cancel => (await OpenIdConnectConfigurationRetriever.GetAsync(discovery.ToString(), retriever, cancel)).JsonWebKeySet
                ?? throw new InvalidOperationException("The issuer's discovery document names no jwks_uri.");
        return new Issuer(source.Issuer, fetch, options.Value, timeProvider, logger);
    }

    /// <summary>One issuer's keys and their refresh schedule.</summary>
    internal sealed class Issuer(string name, Func<CancellationToken, Task<JsonWebKeySet>> fetch, SubjectsOptions options, TimeProvider timeProvider, ILogger logger) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private volatile IssuerKeySet? _keys;
        private DateTimeOffset _lastRequested = DateTimeOffset.MinValue;
        private DateTimeOffset _retryAfter = DateTimeOffset.MinValue;
        private volatile bool _refreshRequested;

        /// <summary>
        /// The issuer's keys, fetched if none were fetched within <see cref="SubjectsOptions.KeyRefreshInterval"/> or a
        /// refresh was requested. When a refetch fails, the last keys are served until the next attempt, at most one
        /// per <see cref="SubjectsOptions.MinimumKeyRefreshInterval"/>; with no keys at all, the failure is thrown.
        /// </summary>
        public async ValueTask<IssuerKeySet> GetKeysAsync(CancellationToken cancellationToken)
        {
            var keys = _keys;
            if (keys is not null && !_refreshRequested && IsFresh(keys))
            {
                return keys;
            }

            await _gate.WaitAsync(cancellationToken);
            try
            {
                keys = _keys;
                var now = timeProvider.GetUtcNow();
                if (keys is not null && ((!_refreshRequested && IsFresh(keys)) || now < _retryAfter))
                {
                    return keys;
                }

                try
                {
                    // Not the caller's token: one client going away must not fail the fetch the others wait on. The
                    // HttpClient's timeout bounds it.
                    var set = await fetch(CancellationToken.None);
                    keys = IssuerKeySet.From(set, timeProvider.GetUtcNow());
                    _keys = keys;
                    return keys;
                }
                catch (Exception ex) when (keys is not null && IsFetchFailure(ex))
                {
                    _retryAfter = now + options.MinimumKeyRefreshInterval;
                    Log.IssuerKeysStale(logger, name, ex.GetType().Name);
                    return keys;
                }
                catch (Exception ex) when (IsFetchFailure(ex))
                {
                    _retryAfter = now + options.MinimumKeyRefreshInterval;
                    throw;
                }
                finally
                {
                    _refreshRequested = false;
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        /// <summary>Asks the next <see cref="GetKeysAsync"/> to refetch (an unknown <c>kid</c>), at most once per minimum interval.</summary>
        public void RequestRefresh()
        {
            var now = timeProvider.GetUtcNow();
            if (now - _lastRequested >= options.MinimumKeyRefreshInterval)
            {
                _lastRequested = now;
                _refreshRequested = true;
            }
        }

        /// <summary>
        /// The key with <paramref name="kid"/> in a key set fetched within <see cref="SubjectsOptions.KeyRefreshInterval"/>;
        /// false when there is none or the keys are older (then the token is validated afresh, which refetches).
        /// </summary>
        public bool TryGetCurrentKey(string kid, [NotNullWhen(true)] out IssuerKey? key)
        {
            key = null;
            var keys = _keys;
            return keys is not null && IsFresh(keys) && keys.TryGet(kid, out key);
        }

        public void Dispose() => _gate.Dispose();

        private bool IsFresh(IssuerKeySet keys) => timeProvider.GetUtcNow() - keys.FetchedAt < options.KeyRefreshInterval;

        private static bool IsFetchFailure(Exception ex) =>
            ex is InvalidOperationException or IOException or HttpRequestException or ArgumentException or JsonException or OperationCanceledException;
    }
}

/// <summary>A signing key of an issuer, with the RFC 7638 thumbprint that identifies its material.</summary>
internal sealed record IssuerKey(JsonWebKey Key, string Thumbprint);

/// <summary>An issuer's signing keys by <c>kid</c>, as fetched at <see cref="FetchedAt"/>. Immutable.</summary>
internal sealed class IssuerKeySet
{
    private readonly FrozenDictionary<string, IssuerKey> _byKid;

    private IssuerKeySet(FrozenDictionary<string, IssuerKey> byKid, DateTimeOffset fetchedAt)
    {
        _byKid = byKid;
        FetchedAt = fetchedAt;
    }

    public DateTimeOffset FetchedAt { get; }

    public int Count => _byKid.Count;

    public bool TryGet(string kid, [NotNullWhen(true)] out IssuerKey? key) => _byKid.TryGetValue(kid, out key);

    /// <summary>
    /// The EC and RSA signing keys of a JWKS (RFC 7517 §4.2: no <c>use</c>, or <c>sig</c>) that have a <c>kid</c> and
    /// their public parameters. A <c>kid</c> published for two different keys is ambiguous and dropped: which key
    /// "the" key is must never depend on the order of a document.
    /// </summary>
    public static IssuerKeySet From(JsonWebKeySet set, DateTimeOffset fetchedAt)
    {
        var byKid = new Dictionary<string, IssuerKey>(StringComparer.Ordinal);
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in set.Keys)
        {
            if (string.IsNullOrEmpty(key.Kid)
                || key.Use is not (null or "" or JsonWebKeyUseNames.Sig)
                || key.Kty is not (JsonWebAlgorithmsKeyTypes.EllipticCurve or JsonWebAlgorithmsKeyTypes.RSA)
                || key.HasPrivateKey
                || !key.CanComputeJwkThumbprint())
            {
                continue;
            }

            var entry = new IssuerKey(key, Base64UrlEncoder.Encode(key.ComputeJwkThumbprint()));
            if (byKid.TryGetValue(key.Kid, out var existing) && existing.Thumbprint != entry.Thumbprint)
            {
                ambiguous.Add(key.Kid);
            }

            byKid.TryAdd(key.Kid, entry);
        }

        foreach (var kid in ambiguous)
        {
            byKid.Remove(kid);
        }

        return new IssuerKeySet(byKid.ToFrozenDictionary(StringComparer.Ordinal), fetchedAt);
    }
}
