using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

/// <summary>
/// HTTPS defaults for every https endpoint: the broker's X509-SVID as server certificate (chosen
/// per handshake, so rotation needs no restart) and, when enabled, a request for the client's
/// certificate.
/// </summary>
/// <remarks>
/// The TLS layer accepts any client certificate: the handshake proves possession of its key, and
/// the certificate is verified per request, against the bundle of its own trust domain, only when
/// the caller names it as its subject. Requests that do not use it are unaffected.
/// </remarks>
internal sealed class KestrelTlsSetup(IOptions<SpiffeAgentOptions> options, IServiceProvider services) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var spiffe = options.Value;
        if (!spiffe.ServeTls && !spiffe.RequestClientCertificates)
        {
            return;
        }

        kestrel.ConfigureHttpsDefaults(https =>
        {
            if (spiffe.ServeTls)
            {
                var connection = services.GetRequiredService<WorkloadApiConnection>();
                https.ServerCertificateSelector = (_, _) => connection.CurrentCertificate;
            }

            if (spiffe.RequestClientCertificates)
            {
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.ClientCertificateValidation = (_, _, _) => true;
            }
        });
    }
}
