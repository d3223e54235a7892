// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Net;
using Broker.Client;
using Broker.Spiffe;
using Broker.Spiffe.WorkloadApi;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Agent;

/// <summary>
/// The agent's own workload credential, a JWT-SVID: from the SPIFFE Workload API in production, or from the
/// <c>--dev</c> broker's dev identity source on a laptop. Each call fetches a current one (the Workload API agent
/// and the dev source both hand out short-lived SVIDs); it is presented to the broker only.
/// </summary>
internal abstract class WorkloadCredential : ISubjectTokenSource, IAsyncDisposable
{
    /// <summary>Where the credential comes from, for the narrative.</summary>
    public abstract string Source { get; }

    public abstract ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The SPIFFE ID a JWT-SVID names (its <c>sub</c>); the token came from our own source, so it is not verified here.</summary>
    public static string SubjectOf(SubjectToken token) => new JsonWebToken(token.Token).Subject;

    public static WorkloadCredential Create(AgentSettings settings, HttpClient brokerHttp, Narrative narrative) =>
        settings.Identity == AgentCommand.WorkloadApiIdentity
            ? new WorkloadApi(settings.Audience, settings.SpiffeId, narrative)
            : new DevIdentitySource(brokerHttp, settings.Broker, settings.SpiffeId!.Value, narrative);

    /// <summary>A JWT-SVID for the broker's audience from the Workload API at <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    private sealed class WorkloadApi(string audience, SpiffeId? subject, Narrative narrative) : WorkloadCredential
    {
        private WorkloadApiClient? _client;

        public override string Source => $"the SPIFFE Workload API ({Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable)})";

        public override async ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken)
        {
            try
            {
                _client ??= new WorkloadApiClient(new WorkloadApiClientOptions { Address = WorkloadApiAddress.FromEnvironment() });
                var svid = await _client.FetchJwtSvidAsync(audience, subject: subject, cancellationToken: cancellationToken);
                var token = svid.Marshal();
                narrative.Secret(token);
                return new SubjectToken(token, SubjectTokenTypes.Jwt, svid.Expiry);
            }
            catch (Exception ex) when (ex is WorkloadApiException or InvalidOperationException)
            {
                // The messages are the library's own ("workloadapi: FetchJWTSVID failed: Unavailable: ..."), never a token.
                throw new AgentException($"no JWT-SVID from the Workload API: {ex.Message}", ex);
            }
        }

        public override async ValueTask DisposeAsync()
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }

            await base.DisposeAsync();
        }
    }

    /// <summary>
    /// <c>POST /dev/svid?spiffe_id=…</c> of the <c>--dev</c> broker: a five-minute JWT-SVID of the throw-away trust
    /// domain <c>dev.localhost</c>, whose audience is the broker. It exists only on a dev broker, on loopback.
    /// </summary>
    private sealed class DevIdentitySource(HttpClient http, Uri broker, SpiffeId id, Narrative narrative) : WorkloadCredential
    {
        private const int MaxSvidLength = 16 * 1024;

        public override string Source => $"the --dev broker's dev identity source ({Endpoint.GetLeftPart(UriPartial.Path)})";

        private Uri Endpoint => new(broker, $"dev/svid?spiffe_id={Uri.EscapeDataString(id.ToString())}");

        public override async ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken)
        {
            using var response = await Send(() => http.PostAsync(Endpoint, null, cancellationToken), $"the broker at {broker}");
            var body = await ReadBoundedAsync(response, MaxSvidLength, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new AgentException($"the broker at {broker} has no dev identity source: start it with --dev, or give the agent a SPIFFE Workload API (SPIFFE_ENDPOINT_SOCKET).");
            }

            if (response.StatusCode != HttpStatusCode.OK || body is null)
            {
                throw new AgentException($"the dev identity source answered HTTP {(int)response.StatusCode}: {Narrative.Printable(Unquote(body)?.Trim())}");
            }

            var token = body.Trim();
            narrative.Secret(token);
            try
            {
                var jwt = new JsonWebToken(token);
                return new SubjectToken(token, SubjectTokenTypes.Jwt, jwt.ValidTo);
            }
            catch (ArgumentException)
            {
                throw new AgentException("the dev identity source answered with something that is not a JWT.");
            }
        }
    }

    /// <summary>A refusal's text: the dev source writes it as a JSON string.</summary>
    private static string? Unquote(string? body)
    {
        try
        {
            return body is ['"', ..] ? System.Text.Json.JsonSerializer.Deserialize<string>(body) : body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    /// <summary>Sends a request to <paramref name="server"/>, turning network failures into a sentence.</summary>
    public static async Task<HttpResponseMessage> Send(Func<Task<HttpResponseMessage>> send, string server)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException ex)
        {
            // Socket-level text ("Connection refused (127.0.0.1:5080)"): nothing from a response, so nothing secret.
            throw new AgentException($"cannot reach {server}: {Narrative.Printable(ex.Message)}", ex);
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
        {
            throw new AgentException($"{server} did not answer in time.", ex);
        }
    }

    /// <summary>The body as text when it is at most <paramref name="maxLength"/> bytes, else null.</summary>
    public static async Task<string?> ReadBoundedAsync(HttpResponseMessage response, int maxLength, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > maxLength)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxLength + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        return read > maxLength ? null : System.Text.Encoding.UTF8.GetString(buffer, 0, read);
    }
}

/// <summary>An expected failure of a step, with a message fit to print (it never contains a credential).</summary>
internal sealed class AgentException : Exception
{
    public AgentException()
    {
    }

    public AgentException(string message)
        : base(message)
    {
    }

    public AgentException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The MCP server's challenge, when it refused the connection with 401 or 403.</summary>
    public Challenge? Challenge { get; init; }
}
