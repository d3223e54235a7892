// Broker.Spiffe — SPIFFE for .NET.

using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Internal;
using Broker.Spiffe.Svids;

namespace Broker.Spiffe.Federation;

/// <summary>
/// Fetches a SPIFFE bundle from a bundle endpoint over HTTPS with the <c>https_web</c> or <c>https_spiffe</c>
/// profile (SPIFFE Federation §5; spec §4). No client authentication is sent.
/// </summary>
public sealed class BundleEndpointClient : IDisposable
{
    private readonly BundleEndpointOptions _options;
    private readonly HttpClient _http;
    private SpiffeBundle? _latest;

    /// <summary>Creates a client.</summary>
    /// <exception cref="ArgumentException">The options are invalid (non-https URL, missing https_spiffe settings).</exception>
    public BundleEndpointClient(BundleEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _latest = options.InitialBundle;

        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by hand so every hop gets the same URL checks, and are never remembered (spec §4).
            AllowAutoRedirect = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (options.Profile == BundleEndpointProfile.HttpsSpiffe)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = ValidateSpiffeServer;
        }

        options.ConfigureHandler?.Invoke(handler);
        _http = new HttpClient(handler) { Timeout = options.RequestTimeout };
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
    }

    /// <summary>Fetches and parses the bundle once.</summary>
    /// <exception cref="BundleEndpointException">The request failed, the status was not 200, the body is too large, or TLS authentication failed.</exception>
    /// <exception cref="SpiffeBundleFormatException">The body is not a valid SPIFFE bundle.</exception>
    public async Task<SpiffeBundle> FetchAsync(CancellationToken cancellationToken = default)
    {
        // One deadline for the whole fetch, redirects and body included: HttpClient.Timeout stops at the response
        // headers (ResponseHeadersRead), so an endpoint that sends them and then trickles the body would hold the
        // poll forever.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.RequestTimeout);
        try
        {
            return await FetchOnceAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new BundleEndpointException($"federation: request to the bundle endpoint of {_options.TrustDomain} failed.", ex);
        }
        catch (IOException ex)
        {
            throw new BundleEndpointException($"federation: reading the bundle from the endpoint of {_options.TrustDomain} failed.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BundleEndpointException($"federation: request to the bundle endpoint of {_options.TrustDomain} timed out.", ex);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<SpiffeBundle> FetchOnceAsync(CancellationToken cancellationToken)
    {
        var url = _options.EndpointUrl;
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (IsRedirect(response.StatusCode))
            {
                var location = response.Headers.Location;
                if (hop >= _options.MaxRedirects || location is null)
                {
                    throw new BundleEndpointException("federation: too many or invalid redirects from the bundle endpoint.");
                }

                var next = location.IsAbsoluteUri ? location : new Uri(url, location);

                // Never from https down to http, even where loopback http is allowed.
                if (!_options.IsAllowedUrl(next) || (url.Scheme == Uri.UriSchemeHttps && next.Scheme != Uri.UriSchemeHttps))
                {
                    throw new BundleEndpointException("federation: the bundle endpoint redirected to a URL that is not https or has userinfo.");
                }

                url = next;
                continue;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new BundleEndpointException($"federation: the bundle endpoint of {_options.TrustDomain} returned {(int)response.StatusCode}.");
            }

            var body = await ReadBoundedAsync(response.Content, cancellationToken).ConfigureAwait(false);
            var bundle = SpiffeBundle.Parse(_options.TrustDomain, body);
            Volatile.Write(ref _latest, bundle);
            return bundle;
        }
    }

    private static bool IsRedirect(HttpStatusCode code) =>
        code is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        // Bounded before and while reading: a hostile endpoint must not make us buffer gigabytes.
        if (content.Headers.ContentLength > JwtBundle.MaxJsonSize)
        {
            throw new BundleEndpointException("federation: the bundle is larger than 1 MiB.");
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > JwtBundle.MaxJsonSize)
            {
                throw new BundleEndpointException("federation: the bundle is larger than 1 MiB.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// https_spiffe: the server must present an X509-SVID for the configured endpoint SPIFFE ID, verified against
    /// the bundle of the endpoint's trust domain; Web PKI name checks do not apply (spec §4).
    /// </summary>
    private bool ValidateSpiffeServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        var presented = PeerCertificates.FromCallback(certificate, chain);
        if (presented is null)
        {
            return false;
        }

        IX509BundleSource? bundles = _options.EndpointSpiffeId.IsMemberOf(_options.TrustDomain)
            ? Volatile.Read(ref _latest) is { } latest ? new X509BundleSet(latest.X509Bundle) : null
            : _options.EndpointBundleSource;
        return bundles is not null
            && X509SvidVerifier.TryVerify(presented, bundles, out var id, out _, _options.TimeProvider)
            && id == _options.EndpointSpiffeId;
    }
}
