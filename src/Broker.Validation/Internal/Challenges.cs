// Broker.Validation — resource servers honour broker tokens.

using System.Text;
using Microsoft.AspNetCore.Http;

namespace Broker.Validation.Internal;

/// <summary>
/// RFC 6750 §3 <c>WWW-Authenticate: Bearer</c> and RFC 9449 §7.1 <c>WWW-Authenticate: DPoP</c> challenges, each with the
/// RFC 9728 §5.1 <c>resource_metadata</c>.
/// </summary>
internal static class Challenges
{
    public static string Bearer(Uri resourceMetadata, string? error = null, string? description = null, string? scope = null) =>
        Challenge("Bearer", resourceMetadata, error, description, scope, algorithms: null);

    /// <summary>A <c>DPoP</c> challenge: as <see cref="Bearer"/>, plus <c>algs</c>, the accepted proof algorithms (RFC 9449 §7.1).</summary>
    public static string DPoP(Uri resourceMetadata, string algorithms, string? error = null, string? description = null, string? scope = null) =>
        Challenge("DPoP", resourceMetadata, error, description, scope, algorithms);

    private static string Challenge(string scheme, Uri resourceMetadata, string? error, string? description, string? scope, string? algorithms)
    {
        var header = new StringBuilder(scheme).Append(' ');
        var start = header.Length;
        Append(header, start, "resource_metadata", resourceMetadata.AbsoluteUri);
        if (error is not null)
        {
            Append(header, start, "error", error);
        }

        if (description is not null)
        {
            Append(header, start, "error_description", description);
        }

        if (scope is not null)
        {
            Append(header, start, "scope", scope);
        }

        if (algorithms is not null)
        {
            Append(header, start, "algs", algorithms);
        }

        return header.ToString();
    }

    /// <summary>Answers with one <c>WWW-Authenticate</c> field per challenge (RFC 9110 §11.6.1), not a comma-joined list.</summary>
    public static void Write(HttpResponse response, int statusCode, params string[] challenges)
    {
        response.StatusCode = statusCode;
        response.Headers.WWWAuthenticate = challenges;
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
    private static void Append(StringBuilder header, int start, string name, string value)
    {
        if (header.Length > start)
        {
            header.Append(", ");
        }

        header.Append(name).Append("=\"").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
    }
}
