// Broker.Spiffe — SPIFFE for .NET.

using Broker.Spiffe.Bundles;
using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.Federation;

/// <summary>
/// Where and how to fetch a foreign trust domain's bundle (SPIFFE Federation §5; spec §4). The bundle does
/// not name its trust domain, so <see cref="TrustDomain"/> must come from configuration.
/// </summary>
public sealed class BundleEndpointOptions
{
    /// <summary>The bundle endpoint URL. Must be <c>https</c> with no userinfo.</summary>
    public required Uri EndpointUrl { get; set; }

    /// <summary>The trust domain whose bundle the endpoint serves.</summary>
    public required TrustDomain TrustDomain { get; set; }

    /// <summary>The endpoint profile. Default <see cref="BundleEndpointProfile.HttpsWeb"/>.</summary>
    public BundleEndpointProfile Profile { get; set; } = BundleEndpointProfile.HttpsWeb;

    /// <summary>For <c>https_spiffe</c>: the SPIFFE ID the endpoint's X509-SVID must carry.</summary>
    public SpiffeId EndpointSpiffeId { get; set; }

    /// <summary>
    /// For <c>https_spiffe</c> when the endpoint belongs to <see cref="TrustDomain"/> itself (self-serving):
    /// the operator-supplied bundle that authenticates the first connection; later connections use the latest
    /// fetched bundle.
    /// </summary>
    public SpiffeBundle? InitialBundle { get; set; }

    /// <summary>For <c>https_spiffe</c> when the endpoint belongs to another trust domain: where to find that trust domain's X.509 bundle.</summary>
    public IX509BundleSource? EndpointBundleSource { get; set; }

    /// <summary>Polling interval when the bundle has no <c>spiffe_refresh_hint</c>. Default 5 minutes.</summary>
    public TimeSpan DefaultRefreshInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Floor for the polling interval, so a hint of 0 cannot turn into a request loop. Default 10 seconds.</summary>
    public TimeSpan MinRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one fetch, redirects included. Default 30 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many redirects one fetch follows, each checked like <see cref="EndpointUrl"/> (spec §4: follow only to
    /// valid URLs, never remember them). Default 3; 0 refuses every redirect, so only the configured URL is ever
    /// fetched. At most 10.
    /// </summary>
    public int MaxRedirects { get; set; } = 3;

    /// <summary>
    /// Also accept plain <c>http</c> URLs whose host is loopback (<c>127.0.0.1</c>, <c>[::1]</c>, <c>localhost</c>), for
    /// a local endpoint in experiments and tests. Dangerous: the bundle is then neither authenticated nor private, so
    /// anything on the host can serve the keys that are trusted. Default false; never for a remote URL.
    /// </summary>
    public bool DangerousAllowLoopbackHttp { get; set; }

    /// <summary>
    /// Adjusts the HTTP handler after the library's settings, e.g. a private root for <c>https_web</c> in tests or
    /// a proxy. Do not re-enable automatic redirects or replace the certificate callback of <c>https_spiffe</c>.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; set; }

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock for refresh scheduling. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(EndpointUrl);
        if (!IsAllowedUrl(EndpointUrl))
        {
            throw new ArgumentException("federation: the bundle endpoint URL must be an absolute https URL without userinfo.", nameof(EndpointUrl));
        }

        if (MaxRedirects is < 0 or > 10)
        {
            throw new ArgumentException("federation: MaxRedirects must be between 0 and 10.", nameof(MaxRedirects));
        }

        if (TrustDomain.IsZero)
        {
            throw new ArgumentException("federation: the trust domain is required.", nameof(TrustDomain));
        }

        if (Profile == BundleEndpointProfile.HttpsSpiffe)
        {
            if (EndpointSpiffeId.IsZero)
            {
                throw new ArgumentException("federation: https_spiffe needs the endpoint's SPIFFE ID.", nameof(EndpointSpiffeId));
            }

            var selfServing = EndpointSpiffeId.IsMemberOf(TrustDomain);
            if (selfServing && InitialBundle is null)
            {
                throw new ArgumentException("federation: a self-serving https_spiffe endpoint needs an operator-supplied initial bundle.", nameof(InitialBundle));
            }

            if (!selfServing && EndpointBundleSource is null)
            {
                throw new ArgumentException("federation: https_spiffe for another trust domain's endpoint needs a bundle source for that trust domain.", nameof(EndpointBundleSource));
            }
        }

        if (DefaultRefreshInterval <= TimeSpan.Zero || MinRefreshInterval < TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("federation: intervals and timeouts must be positive.", nameof(DefaultRefreshInterval));
        }
    }

    /// <summary>
    /// Both profiles: https, absolute, no userinfo (spec §4); http only on loopback, only when
    /// <see cref="DangerousAllowLoopbackHttp"/> says so, and never for <c>https_spiffe</c>, whose authentication is the
    /// TLS handshake. Applied to redirect targets too.
    /// </summary>
    internal bool IsAllowedUrl(Uri url) =>
        url.IsAbsoluteUri
        && string.IsNullOrEmpty(url.UserInfo)
        && (url.Scheme == Uri.UriSchemeHttps
            || (DangerousAllowLoopbackHttp && Profile == BundleEndpointProfile.HttpsWeb && url.Scheme == Uri.UriSchemeHttp && url.IsLoopback));
}
