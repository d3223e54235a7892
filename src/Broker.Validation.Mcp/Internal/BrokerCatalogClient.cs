// Broker.Validation — resource servers honour broker tokens.

using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Policy;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// Calls the broker's catalog (its metadata's <c>catalog_endpoint</c>, on the broker's origin only) with this server's
/// workload credential: publishes the server's tools, and looks up what a caller may discover here
/// (<c>GET /catalog/v1/capabilities?resource=&amp;grant_id=</c>), cached per grant for a short, bounded time.
/// </summary>
internal sealed class BrokerCatalogClient(
    IOptions<BrokerMcpCatalogOptions> options,
    IOptionsMonitor<BrokerTokenOptions> brokerOptions,
    IOptionsMonitor<JwtBearerOptions> jwtBearerOptions,
    ToolCapabilities capabilities,
    IHttpClientFactory httpClientFactory,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory)
{
    public const string HttpClientName = "Broker.Validation.Catalog";

    private readonly ILogger _logger = loggerFactory.CreateLogger("Broker.Validation.Mcp.Catalog");
    private readonly ConcurrentDictionary<string, (DiscoveryAnswer Answer, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>True when <see cref="BrokerMcpCatalogOptions.ListDiscoverableTools"/> is on.</summary>
    public bool ListsDiscoverableTools => options.Value.ListDiscoverableTools && options.Value.Credential is not null;

    /// <summary>The resource this server publishes under: its broker-token scheme's <c>Resource</c>.</summary>
    public string? Resource => brokerOptions.Get(options.Value.Scheme).Resource;

    /// <summary>The publish body: each tool under each capability it requires, with the hash of its input schema.</summary>
    public string PublishBody(McpServerPrimitiveCollection<McpServerTool>? tools)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("tools");
            foreach (var tool in (tools ?? []).OrderBy(t => t.ProtocolTool.Name, StringComparer.Ordinal))
            {
                foreach (var capability in capabilities.For(tool))
                {
                    writer.WriteStartObject();
                    writer.WriteString("name", tool.ProtocolTool.Name);
                    writer.WriteString("capability", capability);
                    if (tool.ProtocolTool.Title is { Length: > 0 } title)
                    {
                        writer.WriteString("title", title);
                    }

                    if (tool.ProtocolTool.Description is { Length: > 0 } description)
                    {
                        writer.WriteString("description", description);
                    }

                    // RFC 8785 canonical JSON, so the hash changes only when the schema does.
                    writer.WriteString("input_schema_sha256", CanonicalJson.Sha256(tool.ProtocolTool.InputSchema));
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Publishes <paramref name="body"/>; the HTTP status, or null when the broker could not be reached.</summary>
    public async Task<HttpStatusCode> PublishAsync(string body, CancellationToken cancellationToken)
    {
        var endpoint = await ResourceUriAsync(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Put, endpoint) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await SendAsync(request, cancellationToken);
        return response.StatusCode;
    }

    /// <summary>
    /// What the caller holding <paramref name="grantId"/> may discover on this resource; null when the broker cannot
    /// say (unreachable, refused): the caller then sees only what its token covers.
    /// </summary>
    public async ValueTask<DiscoveryAnswer?> LookupAsync(string grantId, DateTimeOffset tokenExpiry, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_cache.TryGetValue(grantId, out var cached) && cached.Until > now)
        {
            return cached.Answer;
        }

        DiscoveryAnswer? answer;
        try
        {
            var endpoint = await CatalogBaseAsync(cancellationToken);
            var uri = new Uri($"{endpoint.AbsoluteUri.TrimEnd('/')}/capabilities?resource={Uri.EscapeDataString(Resource!)}&grant_id={Uri.EscapeDataString(grantId)}");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = await SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Log.CatalogLookupFailed(_logger, $"HTTP {(int)response.StatusCode}");
                return null;
            }

            answer = DiscoveryAnswer.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or InvalidOperationException or BrokerMetadataUnavailableException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Log.CatalogLookupFailed(_logger, ex.GetType().Name);
            return null;
        }

        if (answer is null)
        {
            Log.CatalogLookupFailed(_logger, "the answer could not be read");
            return null;
        }

        // Bounded: the cache never holds more than the configured number of callers.
        if (_cache.Count >= options.Value.MaxCachedLookups)
        {
            foreach (var (key, entry) in _cache)
            {
                if (entry.Until <= now || _cache.Count >= options.Value.MaxCachedLookups)
                {
                    _cache.TryRemove(key, out _);
                }
            }
        }

        var until = now + options.Value.LookupCacheDuration;
        _cache[grantId] = (answer, until < tokenExpiry ? until : tokenExpiry);
        return answer;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var credential = options.Value.Credential ?? throw new InvalidOperationException("BrokerMcpCatalogOptions.Credential is not set.");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await credential(cancellationToken));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Timeout);
        return await httpClientFactory.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
    }

    private async Task<Uri> ResourceUriAsync(CancellationToken cancellationToken)
    {
        var endpoint = await CatalogBaseAsync(cancellationToken);
        return new Uri($"{endpoint.AbsoluteUri.TrimEnd('/')}/resources?resource={Uri.EscapeDataString(Resource ?? throw new InvalidOperationException("The broker-token scheme names no Resource to publish under."))}");
    }

    private async Task<Uri> CatalogBaseAsync(CancellationToken cancellationToken)
    {
        // The scheme's own metadata manager: the catalog URL comes from the configured broker only, on its origin
        // (our credential goes there).
        if (jwtBearerOptions.Get(options.Value.Scheme).ConfigurationManager is not BrokerMetadataManager metadata)
        {
            throw new InvalidOperationException($"'{options.Value.Scheme}' is not a broker token scheme (AddBrokerTokens).");
        }

        await metadata.GetConfigurationAsync(cancellationToken);
        var endpoint = await metadata.GetCatalogEndpointAsync(cancellationToken);
        return endpoint.Uri ?? throw new InvalidOperationException(endpoint.Refusal);
    }
}

/// <summary>The broker's answer for one caller: what it may discover here, whether it could execute it, and the tenant's discovery mode.</summary>
/// <param name="Mode">The tenant's <c>discovery:</c> setting.</param>
/// <param name="Discoverable">The capabilities it may discover (and that are listed), each with "executable now".</param>
internal sealed record DiscoveryAnswer(DiscoveryMode Mode, IReadOnlyDictionary<string, bool> Discoverable)
{
    public static DiscoveryAnswer? Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("capabilities", out var list) || list.ValueKind != JsonValueKind.Array
            || !root.TryGetProperty("discovery", out var mode) || mode.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var discoverable = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var capability in list.EnumerateArray())
        {
            if (capability.ValueKind != JsonValueKind.Object || !capability.TryGetProperty("name", out var name) || name.GetString() is not { } text
                || !capability.TryGetProperty("executable", out var executable) || executable.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return null;
            }

            discoverable[text] = executable.GetBoolean();
        }

        return new DiscoveryAnswer(mode.GetString() == "hide" ? DiscoveryMode.Hide : DiscoveryMode.ListUnexecutable, discoverable);
    }
}
