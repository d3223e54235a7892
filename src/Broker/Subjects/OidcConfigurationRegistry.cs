using System.Collections.Concurrent;
using System.Collections.Frozen;
using Broker.Policy;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// One Microsoft.IdentityModel <see cref="ConfigurationManager{T}"/> per trusted OIDC issuer:
/// discovery and JWKS cached, refreshed periodically, and refetched on an unknown <c>kid</c> at most
/// once per <see cref="SubjectsOptions.MinimumKeyRefreshInterval"/>.
/// </summary>
internal sealed class OidcConfigurationRegistry(IHttpClientFactory httpClientFactory, IOptions<SubjectsOptions> options, PolicyLoadOptions loadOptions, TimeProvider timeProvider)
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
        var manager = new ConfigurationManager<OpenIdConnectConfiguration>(discovery.ToString(), new OpenIdConnectConfigurationRetriever(), retriever)
        {
            AutomaticRefreshInterval = options.Value.KeyRefreshInterval,
            RefreshInterval = options.Value.MinimumKeyRefreshInterval,
        };
        return new Issuer(manager, source.JwksUri is null ? null : new JwksOnlyManager(source.JwksUri, retriever, options.Value, timeProvider));
    }

    /// <summary>An issuer's configuration and the kids it published last, for the validation cache.</summary>
    internal sealed class Issuer(ConfigurationManager<OpenIdConnectConfiguration> discovery, JwksOnlyManager? jwks)
    {
        private volatile FrozenSet<string> _knownKids = FrozenSet<string>.Empty;

        public async Task<IReadOnlyCollection<SecurityKey>> GetKeysAsync(CancellationToken cancellationToken)
        {
            IReadOnlyCollection<SecurityKey> keys = jwks is not null
                ? await jwks.GetKeysAsync(cancellationToken)
                : [.. (await discovery.GetConfigurationAsync(cancellationToken)).SigningKeys];
            _knownKids = keys.Select(k => k.KeyId).Where(k => k is not null).ToFrozenSet(StringComparer.Ordinal);
            return keys;
        }

        public void RequestRefresh()
        {
            if (jwks is not null)
            {
                jwks.RequestRefresh();
            }
            else
            {
                discovery.RequestRefresh();
            }
        }

        public bool Publishes(string kid) => _knownKids.Contains(kid);
    }

    /// <summary>
    /// Keys from a configured <c>jwks_uri</c> without discovery (issuers whose discovery document is
    /// not reachable from the broker, such as a Kubernetes API server).
    /// </summary>
    internal sealed class JwksOnlyManager(Uri jwksUri, IDocumentRetriever retriever, SubjectsOptions options, TimeProvider timeProvider) : IDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private IReadOnlyCollection<SecurityKey> _keys = [];
        private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;
        private DateTimeOffset _lastRequested = DateTimeOffset.MinValue;
        private volatile bool _refreshRequested;

        public async Task<IReadOnlyCollection<SecurityKey>> GetKeysAsync(CancellationToken cancellationToken)
        {
            var now = timeProvider.GetUtcNow();
            if (_keys.Count > 0 && !_refreshRequested && now - _fetchedAt < options.KeyRefreshInterval)
            {
                return _keys;
            }

            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_keys.Count == 0 || _refreshRequested || timeProvider.GetUtcNow() - _fetchedAt >= options.KeyRefreshInterval)
                {
                    var json = await retriever.GetDocumentAsync(jwksUri.ToString(), cancellationToken);
                    _keys = [.. new JsonWebKeySet(json).GetSigningKeys()];
                    _fetchedAt = timeProvider.GetUtcNow();
                    _refreshRequested = false;
                }

                return _keys;
            }
            finally
            {
                _gate.Release();
            }
        }

        public void Dispose() => _gate.Dispose();

        public void RequestRefresh()
        {
            var now = timeProvider.GetUtcNow();
            if (now - _lastRequested >= options.MinimumKeyRefreshInterval)
            {
                _lastRequested = now;
                _refreshRequested = true;
            }
        }
    }
}
