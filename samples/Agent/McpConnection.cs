// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Net;
using Broker.Client;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Agent;

/// <summary>
/// A connection to the MCP server with the official C# SDK's client over Streamable HTTP, carrying one grant's
/// capability token. A wider grant after a step-up is a new connection: Broker.Client's
/// <see cref="CapabilityTokenHandler"/> is bound to one <see cref="CapabilityRequest"/>.
/// </summary>
internal sealed class McpConnection : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly ChallengeRecorder _recorder;
    private int _disposed;

    private McpConnection(HttpClient http, ChallengeRecorder recorder, McpClient client)
    {
        _http = http;
        _recorder = recorder;
        Client = client;
    }

    public McpClient Client { get; }

    public string Server => Client.ServerInfo is { } info ? $"{info.Name} {info.Version}" : "an unnamed server";

    /// <summary>
    /// Tokens for <paramref name="request"/> from <paramref name="cache"/>, attached by Broker.Client's handler, which
    /// sends them to the MCP endpoint's origin only (its resource URI names another host, so that origin is given
    /// explicitly) and, on a 401, fetches a new token once.
    /// </summary>
    public static Task<McpConnection> ConnectAsync(Uri endpoint, CapabilityTokenCache cache, CapabilityRequest request, CancellationToken cancellationToken) =>
        ConnectAsync(endpoint, new CapabilityTokenHandler(cache, request, origins: [endpoint]) { InnerHandler = Primary() }, null, cancellationToken);

    /// <summary>
    /// Exactly <paramref name="token"/>, never renewed: for watching one grant. Broker.Client's handler would
    /// answer a 401 by exchanging again, and the broker would grant a new token while policy allows it, so the
    /// agent would never see its grant revoked. A DPoP-bound token still gets a proof of its key on every request.
    /// </summary>
    public static Task<McpConnection> ConnectPinnedAsync(Uri endpoint, CapabilityToken token, CancellationToken cancellationToken) =>
        ConnectAsync(endpoint, new PinnedTokenHandler(token) { InnerHandler = Primary() }, null, cancellationToken);

    private static async Task<McpConnection> ConnectAsync(Uri endpoint, HttpMessageHandler handler, Dictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        var recorder = new ChallengeRecorder(handler);
        var http = new HttpClient(recorder) { Timeout = Timeout };
        try
        {
            var transport = new HttpClientTransport(
                new HttpClientTransportOptions
                {
                    Endpoint = endpoint,
                    TransportMode = HttpTransportMode.StreamableHttp,
                    AdditionalHeaders = headers,

                    // Calls only: no standing GET stream for server-initiated messages this agent does not handle.
                    EnableStandaloneGetStream = false,
                },
                http,
                ownsHttpClient: false);
            var client = await McpClient.CreateAsync(
                transport,
                new McpClientOptions { ClientInfo = new Implementation { Name = "broker-sample-agent", Version = "1.0.0" } },
                cancellationToken: cancellationToken);
            return new McpConnection(http, recorder, client);
        }
        catch (Exception ex) when (ex is HttpRequestException or McpException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var reason = Describe(ex, recorder.Last);
            var challenge = ex is HttpRequestException { StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } ? recorder.Last : null;
            http.Dispose();
            throw new AgentException($"cannot connect to {endpoint}: {reason}", ex) { Challenge = challenge };
        }
    }

    public async Task<IReadOnlyList<string>> ListToolsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var tools = await Client.ListToolsAsync(cancellationToken: cancellationToken);
            return [.. tools.Select(t => t.Name).Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is HttpRequestException or McpException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new AgentException($"tools/list failed: {Describe(ex, _recorder.Last)}", ex);
        }
    }

    /// <summary>Calls <paramref name="tool"/>; what happened, never an exception for an expected failure.</summary>
    public async Task<CallOutcome> CallAsync(string tool, IReadOnlyDictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        try
        {
            var result = await Client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken);
            var text = Narrative.Printable(string.Join(' ', result.Content.OfType<TextContentBlock>().Select(b => b.Text)));
            return result.IsError == true ? new CallOutcome.ToolFailed(text) : new CallOutcome.Succeeded(text);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new CallOutcome.Refused(_recorder.Last ?? new Challenge(ex.StatusCode.Value, null, null, null));
        }
        catch (Exception ex) when (ex is HttpRequestException or McpException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new CallOutcome.Failed(Describe(ex, _recorder.Last));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await Client.DisposeAsync();
            _http.Dispose();
        }
    }

    /// <summary>
    /// A failure as a sentence. Exception messages of the SDK can quote a response body, so only the status, the
    /// challenge and JSON-RPC error messages (the server's own words for a protocol error) are used.
    /// </summary>
    private static string Describe(Exception ex, Challenge? challenge) => ex switch
    {
        HttpRequestException { StatusCode: { } status } when challenge is not null && challenge.Status == status =>
            $"{(int)status} {challenge.Error ?? "(no error code)"}: {Narrative.Printable(challenge.Description)}",
        HttpRequestException { StatusCode: { } status } => $"HTTP {(int)status}",
        HttpRequestException => $"unreachable: {Narrative.Printable(ex.Message)}",
        McpProtocolException protocol => $"JSON-RPC error {(int)protocol.ErrorCode}: {Narrative.Printable(protocol.Message)}",
        TaskCanceledException => $"no answer within {Timeout.TotalSeconds} s",
        _ => Narrative.Printable(ex.Message),
    };

    private static SocketsHttpHandler Primary() => new()
    {
        // A redirect would carry the request (and its bearer token) elsewhere; an MCP endpoint does not redirect.
        AllowAutoRedirect = false,
    };
}

/// <summary>What became of a tool call.</summary>
internal abstract record CallOutcome
{
    private CallOutcome()
    {
    }

    internal sealed record Succeeded(string Text) : CallOutcome;

    /// <summary>The tool ran and reported an error (<c>isError</c>).</summary>
    internal sealed record ToolFailed(string Text) : CallOutcome;

    /// <summary>The MCP server refused the token (401) or the operation (403), with its challenge.</summary>
    internal sealed record Refused(Challenge Challenge) : CallOutcome;

    /// <summary>Unreachable, a protocol error, no answer in time.</summary>
    internal sealed record Failed(string Reason) : CallOutcome;
}

/// <summary>
/// Sends one capability token, as it is, on every request: <c>Authorization: DPoP</c> with a fresh proof for a
/// DPoP-bound token (Broker.Client's <see cref="CapabilityToken.Authorize"/>), <c>Authorization: Bearer</c> otherwise.
/// </summary>
internal sealed class PinnedTokenHandler(CapabilityToken token) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        token.Authorize(request);
        var response = await base.SendAsync(request, cancellationToken);
        token.RememberNonce(response);
        return response;
    }
}
