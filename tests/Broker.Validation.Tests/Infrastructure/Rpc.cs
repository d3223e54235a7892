using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>Hand-made Streamable HTTP requests, for what the SDK's client would never send.</summary>
public static class Rpc
{
    public static string ToolCall(string tool, object? arguments = null, int id = 1) =>
        JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method = "tools/call", @params = new { name = tool, arguments = arguments ?? new { path = "notes.txt" } } });

    public static HttpRequestMessage Post(string body, string? token = null, IReadOnlyDictionary<string, string[]>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        foreach (var (name, values) in headers ?? new Dictionary<string, string[]>())
        {
            request.Headers.TryAddWithoutValidation(name, values);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> SendAsync(TestMcpServer server, string body, string? token = null, IReadOnlyDictionary<string, string[]>? headers = null)
    {
        using var client = server.CreateHttpClient();
        using var request = Post(body, token, headers);
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>The one <c>Bearer</c> challenge of the response.</summary>
    public static string Challenge(HttpResponseMessage response) => Challenge(response, "Bearer");

    /// <summary>The one challenge of <paramref name="scheme"/> (<c>Bearer</c> or <c>DPoP</c>) of the response.</summary>
    public static string Challenge(HttpResponseMessage response, string scheme) =>
        Assert.Single(response.Headers.WwwAuthenticate, h => h.Scheme == scheme).ToString();

    /// <summary>Every challenge of the response, by scheme, in order.</summary>
    public static string[] Challenges(HttpResponseMessage response) => [.. response.Headers.WwwAuthenticate.Select(h => h.ToString())];
}
