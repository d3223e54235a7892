// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using Broker.Client;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Agent;

/// <summary>
/// One task, start to end: workload credential → exchange for the first capability → MCP tools/list and an allowed
/// call → a call that needs more → step-up (or its refusal) → end of the task (every grant of it revoked).
/// </summary>
internal sealed class AgentRun(AgentSettings settings, Narrative narrative)
{
    private readonly List<(string GrantId, CapabilityToken Token)> _grants = [];
    private string _step = "identity";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // The broker gets the workload credential; no redirect may carry it anywhere else.
        using var brokerHttp = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
        await using var credential = WorkloadCredential.Create(settings, brokerHttp, narrative);
        using var cache = new CapabilityTokenCache(new BrokerClient(brokerHttp, new BrokerClientOptions
        {
            TokenEndpoint = settings.TokenEndpoint,
            SubjectTokenSource = credential,
            MaxRetries = 1,
        }));

        var exitCode = ExitCodes.Failed;
        try
        {
            exitCode = await RunTaskAsync(credential, cache, cancellationToken);
        }
        catch (AgentException ex)
        {
            narrative.Step("failed", $"{_step}: {ex.Message}");
        }
        catch (BrokerExchangeException ex)
        {
            // The message is the broker's error code and fixed description; never a token.
            narrative.Step("failed", $"{_step}: the broker refused the exchange: {ex.Error} (HTTP {(int)ex.StatusCode}): {Narrative.Printable(ex.ErrorDescription)}");
        }
        catch (HttpRequestException ex)
        {
            narrative.Step("failed", $"{_step}: cannot reach the broker at {settings.Broker}: {Narrative.Printable(ex.Message)}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            narrative.Step("failed", $"{_step}: the broker at {settings.Broker} did not answer in time");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            narrative.Step("cancelled", _step);
            exitCode = ExitCodes.Cancelled;
        }
        finally
        {
            // Whatever happened, a task that holds grants ends with them revoked: they are not left to expire.
            if (_grants.Count > 0 && !await EndTaskAsync(credential, CancellationToken.None))
            {
                exitCode = ExitCodes.Failed;
            }
        }

        return exitCode;
    }

    private async Task<int> RunTaskAsync(WorkloadCredential credential, CapabilityTokenCache cache, CancellationToken cancellationToken)
    {
        // 1. Who am I: a JWT-SVID, fetched now so that a missing identity source fails before anything else.
        var svid = await credential.GetAsync(cancellationToken);
        var me = WorkloadCredential.SubjectOf(svid);
        narrative.Step("identity", $"{me}: a JWT-SVID from {credential.Source}");

        // 2. One task, one capability to start with.
        _step = "exchange";
        var request = settings.FirstRequest;
        var first = await ExchangeAsync("exchange", cache, request, cancellationToken);

        // 3. The MCP server, with that grant's token.
        _step = "connect";
        var connection = await McpConnection.ConnectAsync(settings.McpEndpoint, cache, request, cancellationToken);
        try
        {
            narrative.Step("connect", $"{settings.McpEndpoint} ({connection.Server}) with grant {first}");
            narrative.Step("tools", $"offered to this grant: {string.Join(", ", await connection.ListToolsAsync(cancellationToken))}");

            _step = "call";
            var called = Report(settings.Tool, await connection.CallAsync(settings.Tool, Arguments(settings.Tool, me), cancellationToken));
            await NoteRenewalAsync(cache, request, cancellationToken);
            if (!called)
            {
                return ExitCodes.Failed;
            }

            if (settings.WatchRevocation)
            {
                return await WatchAsync(first, cancellationToken);
            }

            // 4. A tool that may need more than the task holds.
            var outcome = await connection.CallAsync(settings.StepUpTool, Arguments(settings.StepUpTool, me), cancellationToken);
            await NoteRenewalAsync(cache, request, cancellationToken);
            if (outcome is not CallOutcome.Refused { Challenge: { IsInsufficientScope: true, Scope: { Length: > 0 } scope } })
            {
                return Report(settings.StepUpTool, outcome) ? ExitCodes.Ok : ExitCodes.Failed;
            }

            narrative.Step("call", $"{settings.StepUpTool}: refused: 403 insufficient_scope, the tool needs scope=\"{Narrative.Printable(scope)}\"");

            // 5. Step-up: what was held plus what the tool needs, for the same resource and task (MCP "Scope Challenge
            // Handling"). Only the scope comes from the MCP server; where the token may go stays ours to decide.
            var needed = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (needed.All(request.Capabilities.Contains))
            {
                narrative.Step("step-up", $"not attempted: the grant already holds {Narrative.Printable(scope)}; the server refuses it for another reason.");
                return ExitCodes.Failed;
            }

            CapabilityRequest wider;
            try
            {
                wider = new CapabilityRequest(request.Capabilities.Union(needed, StringComparer.Ordinal)) { Resource = request.Resource, TaskId = request.TaskId, Purpose = request.Purpose };
            }
            catch (ArgumentException)
            {
                narrative.Step("step-up", "not attempted: the challenge's scope is not a list of capability names.");
                return ExitCodes.Failed;
            }

            _step = "step-up";
            narrative.Step("step-up", $"asking the broker for {wider.Scope} in task {settings.TaskId}");
            try
            {
                await ExchangeAsync("step-up", cache, wider, cancellationToken);
            }
            catch (BrokerExchangeException ex) when (!ex.IsTransient && ex.Error != BrokerExchangeException.InvalidResponse)
            {
                // Policy said no: an answer, not a failure. The agent carries on with what it holds.
                narrative.Step("step-up", $"refused by the broker: {ex.Error} (HTTP {(int)ex.StatusCode}): {Narrative.Printable(ex.ErrorDescription)}");
                narrative.Step("step-up", $"going on without {settings.StepUpTool}");
                return ExitCodes.Ok;
            }

            await connection.DisposeAsync();
            connection = await McpConnection.ConnectAsync(settings.McpEndpoint, cache, wider, cancellationToken);
            narrative.Step("connect", $"{settings.McpEndpoint} with grant {_grants[^1].GrantId}");
            narrative.Step("tools", $"offered to this grant: {string.Join(", ", await connection.ListToolsAsync(cancellationToken))}");
            return Report(settings.StepUpTool, await connection.CallAsync(settings.StepUpTool, Arguments(settings.StepUpTool, me), cancellationToken), "retry")
                ? ExitCodes.Ok
                : ExitCodes.Failed;
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>Gets a token for <paramref name="request"/> through the cache (the connection then reuses it) and records its grant.</summary>
    private async Task<string> ExchangeAsync(string step, CapabilityTokenCache cache, CapabilityRequest request, CancellationToken cancellationToken)
    {
        var token = await cache.GetTokenAsync(request, cancellationToken);
        narrative.Secret(token.AccessToken);

        // The jti is the grant ID (what an admin revokes); read for display, the broker's signature is the MCP server's to check.
        var grantId = new JsonWebToken(token.AccessToken).Id;
        _grants.Add((grantId, token));
        narrative.Step(step, $"{token.Scope} for {request.Resource}, task {request.TaskId} ({request.Purpose}): granted as grant {grantId}, for {Seconds(token.Lifetime)} s, {Binding(token)}");
        narrative.Grant(grantId);
        return grantId;
    }

    /// <summary>What the token is bound to: the agent's DPoP key (RFC 9449), or nothing (a broker without DPoP).</summary>
    private static string Binding(CapabilityToken token) =>
        token.TokenType == "DPoP" ? "bound to this agent's DPoP key" : "a bearer token (the broker did not bind it to a key)";

    /// <summary>
    /// Says so when Broker.Client's handler replaced the token during a call: the MCP server answered 401 (the grant
    /// revoked, say), so the handler exchanged again and the broker, policy allowing, issued a new grant.
    /// </summary>
    private async Task NoteRenewalAsync(CapabilityTokenCache cache, CapabilityRequest request, CancellationToken cancellationToken)
    {
        var current = await cache.GetTokenAsync(request, cancellationToken);
        if (_grants.Any(g => ReferenceEquals(g.Token, current)))
        {
            return;
        }

        narrative.Secret(current.AccessToken);
        var grantId = new JsonWebToken(current.AccessToken).Id;
        _grants.Add((grantId, current));
        narrative.Step("renewed", $"the MCP server refused the token, so Broker.Client exchanged again: {current.Scope} as grant {grantId}");
        narrative.Grant(grantId);
    }

    /// <summary>Prints a call's outcome; true when it succeeded.</summary>
    private bool Report(string tool, CallOutcome outcome, string? note = null)
    {
        var name = note is null ? tool : $"{tool} ({note})";
        var (succeeded, text) = outcome switch
        {
            CallOutcome.Succeeded s => (true, $"succeeded: {s.Text}"),
            CallOutcome.ToolFailed f => (false, $"the tool failed: {f.Text}"),
            CallOutcome.Refused { Challenge: var c } => (false, $"refused: {(int)c.Status} {c.Error ?? "(no error code)"}: {Narrative.Printable(c.Description)}"),
            CallOutcome.Failed f => (false, $"failed: {f.Reason}"),
            _ => throw new UnreachableException(),
        };
        narrative.Step("call", $"{name}: {text}");
        return succeeded;
    }

    /// <summary>
    /// <c>--watch-revocation</c>: the first grant's token, pinned, on the allowed tool every 100 ms until the MCP server
    /// answers 401 (an admin revoked the grant, and the revocation reached the server), or the watch times out.
    /// </summary>
    private async Task<int> WatchAsync(string grantId, CancellationToken cancellationToken)
    {
        var token = _grants[0].Token;
        var started = Stopwatch.GetTimestamp();
        McpConnection pinned;
        try
        {
            pinned = await McpConnection.ConnectPinnedAsync(settings.McpEndpoint, token, cancellationToken);
        }
        catch (AgentException ex) when (ex.Challenge is { Status: HttpStatusCode.Unauthorized } c)
        {
            // Revoked already, before the watch began (then Broker.Client renewed the token of the first call).
            CutOff(started, 0, c);
            return ExitCodes.Ok;
        }

        await using var connection = pinned;
        narrative.Step("watch", $"calling {settings.Tool} with grant {grantId} every {AgentSettings.WatchInterval.TotalMilliseconds} ms until it is refused (at most {Seconds(settings.WatchTimeout)} s); revoke it: brokerctl grants revoke {grantId} --reason '...'");
        var calls = 0;
        while (Stopwatch.GetElapsedTime(started) < settings.WatchTimeout)
        {
            var outcome = await connection.CallAsync(settings.Tool, Arguments(settings.Tool, "watch"), cancellationToken);
            calls++;
            switch (outcome)
            {
                case CallOutcome.Refused { Challenge: { Status: HttpStatusCode.Unauthorized } c }:
                    CutOff(started, calls, c);
                    return ExitCodes.Ok;
                case CallOutcome.Succeeded:
                    break;
                default:
                    Report(settings.Tool, outcome, "watch");
                    return ExitCodes.Failed;
            }

            await Task.Delay(AgentSettings.WatchInterval, cancellationToken);
        }

        narrative.Step("watch", $"grant {grantId} was still honoured after {Seconds(settings.WatchTimeout)} s ({calls} calls)");
        return ExitCodes.NotCutOff;
    }

    private void CutOff(long started, int calls, Challenge challenge) =>
        narrative.Step("watch", $"cut off after {Stopwatch.GetElapsedTime(started).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)} ms ({calls} calls): 401 {challenge.Error ?? "(no error code)"}: {Narrative.Printable(challenge.Description)}");

    /// <summary>Revokes every grant of the task at the broker; false when the broker did not confirm it.</summary>
    private async Task<bool> EndTaskAsync(WorkloadCredential credential, CancellationToken cancellationToken)
    {
        var ids = string.Join(", ", _grants.Select(g => g.GrantId));
        string? refusal;
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
            refusal = await new TaskEnd(http, settings.RevocationEndpoint).EndAsync(_grants[^1].Token, await credential.GetAsync(cancellationToken), cancellationToken);
        }
        catch (AgentException ex)
        {
            refusal = ex.Message;
        }

        if (refusal is null)
        {
            narrative.Step("end-task", $"task {settings.TaskId} ended: the broker revoked its grants ({ids})");
            return true;
        }

        narrative.Step("end-task", $"task {settings.TaskId} NOT ended, its grants ({ids}) stay valid until they expire: {refusal}");
        return false;
    }

    /// <summary>Arguments for the sample MCP server's tools; other tools get none.</summary>
    private Dictionary<string, object?> Arguments(string tool, string who) => tool switch
    {
        "read_file" => new() { ["path"] = "notes.txt" },
        "write_file" => new() { ["path"] = $"{settings.TaskId}.txt", ["content"] = $"Written by {who} for task {settings.TaskId}." },
        _ => [],
    };

    private static string Seconds(TimeSpan span) => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
