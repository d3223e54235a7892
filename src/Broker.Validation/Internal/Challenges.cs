// Broker.Validation — resource servers honour broker tokens.

using System.Text;
using Microsoft.AspNetCore.Http;

namespace Broker.Validation.Internal;

/// <summary>RFC 6750 §3 <c>WWW-Authenticate: Bearer</c> challenges with the RFC 9728 §5.1 <c>resource_metadata</c>.</summary>
internal static class Challenges
{
    public static string Bearer(Uri resourceMetadata, string? error = null, string? description = null, string? scope = null)
    {
        var header = new StringBuilder("Bearer ");
        Append(header, "resource_metadata", resourceMetadata.AbsoluteUri);
        if (error is not null)
        {
            Append(header, "error", error);
        }

        if (description is not null)
        {
            Append(header, "error_description", description);
        }

        if (scope is not null)
        {
            Append(header, "scope", scope);
        }

        return header.ToString();
    }

    public static void Write(HttpResponse response, int statusCode, string challenge)
    {
        response.StatusCode = statusCode;
        response.Headers.WWWAuthenticate = challenge;
        response.Headers.CacheControl = "no-store";
    }

    /// <summary>RFC 9728 §3.1: the well-known suffix goes between the host and the resource's path.</summary>
    public static Uri ResourceMetadataUriOf(BrokerTokenOptions options)
    {
        if (options.ResourceMetadataUri is { } configured)
        {
            return configured;
        }

        var resource = new Uri(options.Resource!);
        var path = resource.AbsolutePath == "/" ? "" : resource.AbsolutePath;
        return new Uri(resource.GetLeftPart(UriPartial.Authority) + BrokerTokenDefaults.ResourceMetadataPath + path);
    }

    // RFC 9110 §5.6.4 quoted-string: our values never hold quotes, but escape them anyway.
    private static void Append(StringBuilder header, string name, string value)
    {
        if (header.Length > "Bearer ".Length)
        {
            header.Append(", ");
        }

        header.Append(name).Append("=\"").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
    }
}
