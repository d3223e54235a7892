// Broker.Validation — resource servers honour broker tokens.

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Broker.Validation.Mcp.Internal;

/// <summary>
/// Runs on each Streamable HTTP POST after authentication and before the SDK, in order: bound the body; make the
/// 2026-07-28 routing headers (<c>Mcp-Method</c>, <c>Mcp-Name</c>) agree with the JSON-RPC body, so a gateway that
/// authorised by header saw what the server executes; answer a <c>tools/call</c> the token does not cover with the
/// 403 step-up challenge; and take the token off the request, so nothing behind this point can pass it on.
/// </summary>
internal sealed class McpRequestPreflight(ToolCapabilities capabilities, ToolCallAudit audit, IOptions<BrokerMcpOptions> options, IOptions<McpServerOptions> server, ILoggerFactory loggerFactory)
{
    private const int ReadChunk = 16 * 1024;
    private readonly ILogger _logger = loggerFactory.CreateLogger("Broker.Validation.Mcp");

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            StripToken(context);
            await next(context);
            return;
        }

        var max = options.Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > max)
        {
            await RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, "the request body is too large", null);
            return;
        }

        // The buffer's own limit sits one read above ours, so our check (413) fires first, also for chunked bodies.
        context.Request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: (long)max + ReadChunk);
        JsonDocument? document;
        try
        {
            document = await ReadAsync(context.Request.Body, max, context.RequestAborted);
        }
        catch (InvalidDataException)
        {
            await RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, "the request body is too large", null);
            return;
        }

        context.Request.Body.Position = 0;
        using (document)
        {
            // Not JSON, or not one JSON-RPC object: the SDK answers that itself; its own call filter still guards tools.
            if (document?.RootElement is { ValueKind: JsonValueKind.Object } message && !await CheckAsync(context, message))
            {
                return;
            }
        }

        StripToken(context);
        await next(context);
    }

    /// <summary>False when the request was answered here.</summary>
    private async Task<bool> CheckAsync(HttpContext context, JsonElement message)
    {
        if (!TryGetUnique(message, "method", out var methodElement) || !TryGetUnique(message, "params", out var parameters)
            || !TryGetUnique(message, "id", out var id))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "a JSON-RPC member appears twice", null);
            return false;
        }

        var method = methodElement.ValueKind == JsonValueKind.String ? methodElement.GetString() : null;

        // Mcp-Method, when sent, names the body's method (MCP 2026-07-28 Streamable HTTP); whatever the protocol
        // version, a disagreement means someone authorised a different request than the one we would run.
        var methodHeader = context.Request.Headers[McpHeaders.Method];
        if (methodHeader.Count > 0 && (methodHeader.Count > 1 || !string.Equals(methodHeader[0]?.Trim(), method, StringComparison.Ordinal)))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "Mcp-Method does not match the request body", id);
            return false;
        }

        var routingMember = method switch
        {
            "tools/call" or "prompts/get" => "name",
            "resources/read" => "uri",
            _ => null,
        };
        string? routingName = null;
        if (routingMember is not null && parameters.ValueKind == JsonValueKind.Object)
        {
            if (!TryGetUnique(parameters, routingMember, out var routingElement))
            {
                await RefuseAsync(context, StatusCodes.Status400BadRequest, "a JSON-RPC member appears twice", id);
                return false;
            }

            routingName = routingElement.ValueKind == JsonValueKind.String ? routingElement.GetString() : null;
        }

        var nameHeader = context.Request.Headers[McpHeaders.Name];
        if (nameHeader.Count > 0 && routingMember is not null
            && (nameHeader.Count > 1 || routingName is null || !string.Equals(McpHeaderEncoder.DecodeValue(nameHeader[0]?.Trim()), routingName, StringComparison.Ordinal)))
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "Mcp-Name does not match the request body", id);
            return false;
        }

        if (method != "tools/call" || routingName is null || ToolCapabilities.Find(server.Value.ToolCollection, routingName) is not { } tool)
        {
            // Other methods, and unknown tools, are the SDK's to answer.
            return true;
        }

        var caller = context.GetBrokerCaller();
        var required = capabilities.For(tool);
        if (caller is not null && ToolCapabilities.Covers(caller, required))
        {
            return true;
        }

        // MCP 2026-07-28 "Scope Challenge Handling": every capability the call needs, in one challenge.
        string argumentsHash;
        try
        {
            argumentsHash = CanonicalJson.Sha256(parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("arguments", out var arguments) ? arguments : default);
        }
        catch (FormatException)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, "a tool argument object has the same member twice", id);
            return false;
        }

        audit.Write(routingName, ToolCallOutcomes.InsufficientScope, caller, argumentsHash);
        Log.RequestRefused(_logger, StatusCodes.Status403Forbidden, "insufficient_scope");
        context.WriteInsufficientScopeChallenge(required, options.Value.AuthenticationScheme);
        await WriteErrorAsync(context, id, McpErrorCode.InvalidRequest, "The token lacks capabilities this tool needs.");
        return false;
    }

    private async Task RefuseAsync(HttpContext context, int statusCode, string reason, JsonElement? id)
    {
        Log.RequestRefused(_logger, statusCode, reason);
        context.Response.StatusCode = statusCode;
        context.Response.Headers.CacheControl = "no-store";
        await WriteErrorAsync(context, id, statusCode == StatusCodes.Status400BadRequest ? McpErrorCode.HeaderMismatch : McpErrorCode.InvalidRequest, $"Bad Request: {reason}.");
    }

    /// <summary>A JSON-RPC error body, so MCP clients can read the refusal like any other.</summary>
    private static async Task WriteErrorAsync(HttpContext context, JsonElement? id, McpErrorCode code, string message)
    {
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc", "2.0");
        writer.WritePropertyName("id");
        if (id is { ValueKind: JsonValueKind.String or JsonValueKind.Number } value)
        {
            value.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteStartObject("error");
        writer.WriteNumber("code", (int)code);
        writer.WriteString("message", message);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null when they are not JSON.</summary>
    private static async Task<JsonDocument?> ReadAsync(Stream body, int max, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[ReadChunk];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw new InvalidDataException("The request body is too large.");
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>False when <paramref name="name"/> appears more than once (parsers disagree on which one wins).</summary>
    private static bool TryGetUnique(JsonElement element, string name, out JsonElement value)
    {
        value = default;
        var found = false;
        foreach (var member in element.EnumerateObject())
        {
            if (member.NameEquals(name))
            {
                if (found)
                {
                    return false;
                }

                found = true;
                value = member.Value;
            }
        }

        return true;
    }

    /// <summary>No token passthrough (MCP "Token Handling"): behind this point the request carries no token.</summary>
    private static void StripToken(HttpContext context)
    {
        context.Request.Headers.Authorization = StringValues.Empty;

        // The DPoP proof (RFC 9449) goes with it: it names this request and hashes the token, and nothing past here needs it.
        context.Request.Headers.Remove("DPoP");
    }
}

/// <summary>The MCP 2026-07-28 Streamable HTTP routing headers.</summary>
internal static class McpHeaders
{
    public const string Method = "Mcp-Method";
    public const string Name = "Mcp-Name";
}
