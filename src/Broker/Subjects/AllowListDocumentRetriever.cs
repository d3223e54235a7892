using Microsoft.IdentityModel.Protocols;

namespace Broker.Subjects;

/// <summary>
/// Fetches only the documents an issuer's configuration allows: its discovery document and its JWKS
/// (the configured <c>jwks_uri</c>, or the discovery document's when it has the issuer's origin).
/// A compromised or misconfigured discovery document cannot point the broker at another host.
/// </summary>
internal sealed class AllowListDocumentRetriever(IDocumentRetriever inner, Uri discovery, Uri? configuredJwks, Uri issuer) : IDocumentRetriever
{
    public Task<string> GetDocumentAsync(string address, CancellationToken cancel)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || !IsAllowed(uri))
        {
            throw new InvalidOperationException("The issuer's discovery document points to a URL outside the configured allow-list.");
        }

        return inner.GetDocumentAsync(address, cancel);
    }

    private bool IsAllowed(Uri uri)
    {
        if (uri == discovery)
        {
            return true;
        }

        if (configuredJwks is not null)
        {
            return uri == configuredJwks;
        }

        return Uri.Compare(uri, issuer, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
    }
}
