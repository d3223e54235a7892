using System.Text.Json;
using Broker.Errors;
using Broker.Policy;

namespace Broker.Catalog;

/// <summary>Reads and checks a publish body: bounded before it is parsed, strict JSON, every tool against policy.</summary>
internal static class PublishInput
{
    public const int MaxNameLength = 128;
    public const int MaxTitleLength = 256;

    /// <summary>The body, or the refusal: 413 past the bound, 400 for anything that is not exactly the documented shape.</summary>
    public static async Task<(PublishRequest? Body, ErrorDescriptor? Error)> ReadAsync(HttpContext context, CatalogOptions options, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.ContentLength > options.MaxBodyBytes)
        {
            return (null, ErrorCatalog.CatalogBodyTooLarge);
        }

        if (!request.HasJsonContentType())
        {
            return (null, ErrorCatalog.CatalogInvalidBody);
        }

        // Bounded also without Content-Length (chunked): Kestrel stops reading past the limit.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxBodyBytes;
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync(request.Body, CatalogJsonContext.Default.PublishRequest, cancellationToken);
            return body?.Tools is null ? (null, ErrorCatalog.CatalogInvalidBody) : (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ErrorCatalog.CatalogBodyTooLarge);
        }
        catch (Exception e) when (e is JsonException or BadHttpRequestException or IOException or NotSupportedException)
        {
            return (null, ErrorCatalog.CatalogInvalidBody);
        }
    }

    /// <summary>
    /// The tools, checked in order: their number, each one's shape, each one's capability (declared for this
    /// resource) and name (in that capability's <c>tools:</c>), and no tool twice under one capability. Sorted by name.
    /// </summary>
    public static (IReadOnlyList<PublishedTool>? Tools, ErrorDescriptor? Error) Check(PublishRequest body, TenantPolicy tenant, string resource, CatalogOptions options)
    {
        var tools = body.Tools!;
        if (tools.Count == 0 || tools.Count > options.MaxTools)
        {
            return (null, ErrorCatalog.CatalogTooManyTools);
        }

        var seen = new HashSet<(string, string)>();
        var result = new List<PublishedTool>(tools.Count);
        foreach (var tool in tools)
        {
            if (tool is null || !IsToolName(tool.Name) || string.IsNullOrEmpty(tool.Capability) || tool.Capability.Length > 128
                || !IsText(tool.Title, MaxTitleLength, allowLineBreaks: false) || !IsText(tool.Description, options.MaxDescriptionLength, allowLineBreaks: true)
                || !IsSha256Hex(tool.InputSchemaSha256))
            {
                return (null, ErrorCatalog.CatalogInvalidTool);
            }

            // The capability must be one policy declares on this very resource: a publisher cannot attach its tools to
            // a capability of another MCP server.
            if (!tenant.Capabilities.TryGetValue(tool.Capability, out var capability) || !string.Equals(capability.Resource, resource, StringComparison.Ordinal))
            {
                return (null, ErrorCatalog.CatalogCapabilityNotOnResource);
            }

            // Policy lists the tools a capability covers; the catalog records which of them exist, never more.
            if (!capability.Tools.Contains(tool.Name!, StringComparer.Ordinal))
            {
                return (null, ErrorCatalog.CatalogToolNotInCapability);
            }

            if (!seen.Add((tool.Name!, tool.Capability)))
            {
                return (null, ErrorCatalog.CatalogDuplicateTool);
            }

            result.Add(new PublishedTool(tool.Name!, tool.Capability, NullIfEmpty(tool.Title), NullIfEmpty(tool.Description), tool.InputSchemaSha256!));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name) is var byName and not 0 ? byName : string.CompareOrdinal(a.Capability, b.Capability));
        return (result, null);
    }

    /// <summary>MCP tool names: 1-128 characters of A-Z a-z 0-9 _ - . (case-sensitive).</summary>
    public static bool IsToolName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    private static bool IsText(string? text, int max, bool allowLineBreaks) =>
        text is null || (text.Length <= max && !text.Any(c => char.IsControl(c) && !(allowLineBreaks && c is '\n' or '\t' or '\r')));

    private static bool IsSha256Hex(string? value) =>
        value is { Length: 64 } && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>What a write changes, tool by tool (<c>capability/name</c>), and which capabilities stop being published.</summary>
internal static class CatalogDiff
{
    public static Audit.AuditCatalogChange Of(long version, IReadOnlyList<PublishedTool> before, IReadOnlyList<PublishedTool> after, IReadOnlyList<string> withdrawn)
    {
        var old = before.ToDictionary(Key, StringComparer.Ordinal);
        var now = after.ToDictionary(Key, StringComparer.Ordinal);
        return new Audit.AuditCatalogChange(
            version,
            [.. now.Keys.Where(k => !old.ContainsKey(k)).Order(StringComparer.Ordinal)],
            [.. old.Keys.Where(k => !now.ContainsKey(k)).Order(StringComparer.Ordinal)],
            [.. now.Where(kv => old.TryGetValue(kv.Key, out var was) && was != kv.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal)],
            withdrawn);
    }

    /// <summary>Capabilities published before and not after.</summary>
    public static IReadOnlyList<string> Withdrawn(Publication? before, IReadOnlyList<PublishedTool> after)
    {
        var still = after.Select(t => t.Capability).ToHashSet(StringComparer.Ordinal);
        return before is null ? [] : [.. before.Capabilities().Where(c => !still.Contains(c))];
    }

    private static string Key(PublishedTool tool) => tool.Capability + "/" + tool.Name;
}
