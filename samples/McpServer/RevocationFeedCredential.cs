// samples/McpServer — an MCP server whose tools need broker capabilities.

using Broker.Spiffe;
using Broker.Spiffe.WorkloadApi;

namespace McpServer;

/// <summary>
/// This server's own workload credential, which it presents to follow the broker's revocation feed (docs/mcp.md,
/// "The revocation feed"). The <c>RevocationFeed</c> section chooses it: <c>Identity</c> <c>workload-api</c> (a
/// JWT-SVID from <c>SPIFFE_ENDPOINT_SOCKET</c> for the broker's audience) or <c>dev</c> (one from the <c>--dev</c>
/// broker's dev identity source for <c>SpiffeId</c>); without it the server does not follow the feed, and a revoked
/// token stays usable here until it expires.
/// </summary>
internal static class RevocationFeedCredential
{
    /// <summary>The credential, fetched anew for every connection to the feed; null when none is configured.</summary>
    /// <exception cref="InvalidOperationException">The section is not valid.</exception>
    public static Func<CancellationToken, ValueTask<string>>? Create(IConfiguration configuration)
    {
        var section = configuration.GetSection("RevocationFeed");
        var identity = section["Identity"];
        if (string.IsNullOrEmpty(identity))
        {
            return null;
        }

        // The broker's issuer is the audience its JWT-SVIDs must name (it is the dev SVIDs' audience too).
        var broker = configuration["Broker:Broker"]?.TrimEnd('/')
            ?? throw new InvalidOperationException("RevocationFeed: Broker:Broker is not set.");
        switch (identity)
        {
            case "workload-api":
                var client = new WorkloadApiClient(new WorkloadApiClientOptions { Address = WorkloadApiAddress.FromEnvironment() });
                return async cancellationToken =>
                {
                    try
                    {
                        return (await client.FetchJwtSvidAsync(broker, cancellationToken: cancellationToken)).Marshal();
                    }
                    catch (WorkloadApiException ex)
                    {
                        // The feed client retries with backoff on InvalidOperationException and logs its type only.
                        throw new InvalidOperationException(ex.Message, ex);
                    }
                };

            case "dev":
                if (!SpiffeId.TryParse(section["SpiffeId"], out var id))
                {
                    throw new InvalidOperationException("RevocationFeed: SpiffeId must be a SPIFFE ID of spiffe://dev.localhost.");
                }

                // Dev only: the --dev broker hands JWT-SVIDs of its throw-away trust domain to anyone on loopback.
                var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
                var endpoint = new Uri($"{broker}/dev/svid?spiffe_id={Uri.EscapeDataString(id.ToString())}");
                return async cancellationToken =>
                {
                    using var response = await http.PostAsync(endpoint, null, cancellationToken);
                    return response.IsSuccessStatusCode
                        ? (await response.Content.ReadAsStringAsync(cancellationToken)).Trim()
                        : throw new InvalidOperationException($"RevocationFeed: the dev identity source answered HTTP {(int)response.StatusCode}.");
                };

            default:
                throw new InvalidOperationException($"RevocationFeed: Identity must be 'workload-api' or 'dev', not '{identity}'.");
        }
    }
}
