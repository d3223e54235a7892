// Broker.Validation — resource servers honour broker tokens.

using System.Text.Json;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.Validation.ResourceMetadata;

/// <summary>RFC 9728 §3.2 protected resource metadata for one broker-token scheme.</summary>
internal static class ProtectedResourceMetadataEndpoint
{
    public static async Task HandleAsync(HttpContext context, string scheme)
    {
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<BrokerTokenOptions>>().Get(scheme);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "public, max-age=3600";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        Write(writer, options);
        await writer.FlushAsync(context.RequestAborted);
    }

    internal static void Write(Utf8JsonWriter writer, BrokerTokenOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("resource", options.Resource);
        writer.WriteStartArray("authorization_servers");
        writer.WriteStringValue(BrokerMetadataManager.IssuerOf(options.Broker!));
        writer.WriteEndArray();
        if (options.ScopesSupported.Count > 0)
        {
            writer.WriteStartArray("scopes_supported");
            foreach (var scope in options.ScopesSupported.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                writer.WriteStringValue(scope);
            }

            writer.WriteEndArray();
        }

        // RFC 6750 §2.1 only: never a form body or query parameter.
        writer.WriteStartArray("bearer_methods_supported");
        writer.WriteStringValue("header");
        writer.WriteEndArray();
        // RFC 8705 §3.4 / RFC 9728 §2: certificate-bound tokens are checked against the TLS client certificate.
        writer.WriteBoolean("tls_client_certificate_bound_access_tokens", true);
        // RFC 9728 §2 / RFC 9449 §7.1: the proof algorithms accepted, and whether only DPoP-bound tokens are.
        writer.WriteStartArray("dpop_signing_alg_values_supported");
        foreach (var algorithm in options.DPoP.Algorithms.Distinct(StringComparer.Ordinal))
        {
            writer.WriteStringValue(algorithm);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("dpop_bound_access_tokens_required", options.DPoP.RequireBoundTokens);
        if (!string.IsNullOrEmpty(options.ResourceName))
        {
            writer.WriteString("resource_name", options.ResourceName);
        }

        writer.WriteEndObject();
    }
}
