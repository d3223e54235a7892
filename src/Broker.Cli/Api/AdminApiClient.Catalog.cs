using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Broker.Cli.Api;

/// <summary>The catalog routes (<c>/catalog/v1</c>, docs/catalog.md), with the same answers and failures as the admin API.</summary>
internal sealed partial class AdminApiClient
{
    // GET /catalog/v1/capabilities[?resource=…][&purpose=…]
    public Task<ApiResult<CatalogView>> DiscoverAsync(string? resource, string? purpose, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, Catalog("capabilities" + Query(("resource", resource), ("purpose", purpose)))), AdminJsonContext.Default.CatalogView, cancellationToken);

    // GET /catalog/v1/resources?resource=…
    public Task<ApiResult<Publication>> GetPublicationAsync(string resource, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, Catalog("resources" + Query(("resource", resource)))), AdminJsonContext.Default.Publication, cancellationToken);

    // PUT /catalog/v1/resources?resource=… (If-Match: "N")
    public Task<ApiResult<Publication>> PublishAsync(string resource, string body, long? ifMatch, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, Catalog("resources" + Query(("resource", resource))))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        IfMatch(request, ifMatch);
        return SendAsync(request, AdminJsonContext.Default.Publication, cancellationToken);
    }

    // DELETE /catalog/v1/resources?resource=… (If-Match: "N")
    public Task<ApiResult<Unpublished>> UnpublishAsync(string resource, long? ifMatch, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, Catalog("resources" + Query(("resource", resource))));
        IfMatch(request, ifMatch);
        return SendAsync(request, AdminJsonContext.Default.Unpublished, cancellationToken);
    }

    private Uri Catalog(string relative) => new(_connection.CatalogBaseUri, relative);

    private static void IfMatch(HttpRequestMessage request, long? version)
    {
        if (version is { } v)
        {
            request.Headers.IfMatch.Add(new EntityTagHeaderValue("\"" + v.ToString(CultureInfo.InvariantCulture) + "\""));
        }
    }
}
