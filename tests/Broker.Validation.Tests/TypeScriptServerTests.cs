using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>
/// samples/typescript-server (the official TypeScript MCP SDK, jose, the broker's revocation feed) as a node process:
/// the same challenges, filtering, header checks, audit line and revocation behaviour as the C# server, against the
/// real broker and tokens from real exchanges.
/// </summary>
public sealed class TypeScriptServerTests(TypeScriptServerFixture fixture) : IClassFixture<TypeScriptServerFixture>
{
    private const string ResourceMetadata = "https://mcp.test/.well-known/oauth-protected-resource/mcp";
    private const string Writer = "spiffe://dev.localhost/agents/writer";
    private const string DPoPAlgs = "ES256 ES384 ES512 PS256 PS384 PS512";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task Reader_ListsOnlyTheToolsItsTokenCovers_ReadsAFile_OneAuditLine()
    {
        // Arrange: the C# SDK's client against the TypeScript SDK's server.
        var token = await ExchangeAsync("files.read", taskId: "ts-read");
        await using var client = await ConnectAsync(token);

        // Act
        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        var read = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "notes.txt" }, cancellationToken: Ct);

        // Assert
        Assert.Equal(["list_files", "read_file"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.NotEqual(true, read.IsError);
        Assert.Equal("Capabilities are granted per task.", Assert.IsType<TextContentBlock>(Assert.Single(read.Content)).Text);
        var audit = Assert.Single(await AuditLinesAsync(GrantId(token)));
        Assert.Equal("read_file", audit.GetProperty("tool").GetString());
        Assert.Equal("succeeded", audit.GetProperty("outcome").GetString());
        Assert.Equal("spiffe://dev.localhost/agents/reader", audit.GetProperty("subject").GetString());
        Assert.Equal(TestBroker.Tenant, audit.GetProperty("tenant").GetString());
        Assert.Equal("ts-read", audit.GetProperty("task_id").GetString());
        Assert.Equal(Sha256("""{"path":"notes.txt"}"""), audit.GetProperty("arguments_sha256").GetString());
        AssertNoTokenLogged(token);
    }

    [Fact]
    public async Task Writer_WritesThenReadsBack()
    {
        // Arrange
        await using var client = await ConnectAsync(await ExchangeAsync("files.read files.write", agent: Writer));

        // Act
        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        var written = await client.CallToolAsync("write_file", new Dictionary<string, object?> { ["path"] = "plan.md", ["content"] = "ship it" }, cancellationToken: Ct);
        var read = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "plan.md" }, cancellationToken: Ct);

        // Assert
        Assert.Equal(["list_files", "read_file", "write_file"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.NotEqual(true, written.IsError);
        Assert.Equal("ship it", Assert.IsType<TextContentBlock>(Assert.Single(read.Content)).Text);
    }

    [Fact]
    public async Task WriteFile_WithoutFilesWrite_403WithTheChallengeTheCSharpServerSends()
    {
        // Arrange
        var token = await ExchangeAsync("files.read", taskId: "ts-step-up");

        // Act
        using var response = await SendAsync(Rpc.ToolCall("write_file", new { path = "a.txt", content = "x" }, id: 7), token);

        // Assert: byte for byte what Broker.Validation.Mcp answers (McpRequestTests, SampleMcpServerTests).
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(
            $"Bearer resource_metadata=\"{ResourceMetadata}\", error=\"insufficient_scope\", error_description=\"The token lacks capabilities this operation needs.\", scope=\"files.write\"",
            Rpc.Challenge(response));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(7, body.RootElement.GetProperty("id").GetInt32());
        Assert.Equal(-32600, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        var audit = Assert.Single(await AuditLinesAsync(GrantId(token)));
        Assert.Equal(("write_file", "insufficient_scope"), (audit.GetProperty("tool").GetString(), audit.GetProperty("outcome").GetString()));
        Assert.Equal(Sha256("""{"content":"x","path":"a.txt"}"""), audit.GetProperty("arguments_sha256").GetString());
        AssertNoTokenLogged(token);
    }

    [Fact]
    public async Task NoToken_401NamingTheResourceMetadata_WhichIsServedAtBothWellKnownPaths()
    {
        // Act
        using var response = await SendAsync(Rpc.ToolCall("read_file"));
        using var http = new HttpClient { BaseAddress = fixture.BaseAddress };
        var pathSpecific = await http.GetStringAsync(new Uri("/.well-known/oauth-protected-resource/mcp", UriKind.Relative), Ct);
        var root = await http.GetStringAsync(new Uri("/.well-known/oauth-protected-resource", UriKind.Relative), Ct);

        // Assert: RFC 6750 §3.1, no error code when no token was presented.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{ResourceMetadata}\"", Rpc.Challenge(response));
        using var metadata = JsonDocument.Parse(pathSpecific);
        Assert.Equal(TestBroker.Resource, metadata.RootElement.GetProperty("resource").GetString());
        Assert.Equal([Broker.Issuer], metadata.RootElement.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["files.read", "files.write"], metadata.RootElement.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(pathSpecific, root);
    }

    [Fact]
    public async Task DPoPBoundToken_WithAProofOfItsKey_Accepted_MetadataAdvertisesTheProofAlgorithms()
    {
        // Arrange
        var attempt = DPoPCases.Make("valid", Broker, fixture.Endpoint);
        using var http = new HttpClient { BaseAddress = fixture.BaseAddress };

        // Act
        using var response = await SendAsync(Rpc.ToolCall("read_file"), headers: attempt.Headers());
        using var challenged = await SendAsync(Rpc.ToolCall("read_file"));
        using var metadata = JsonDocument.Parse(await http.GetStringAsync(new Uri("/.well-known/oauth-protected-resource/mcp", UriKind.Relative), Ct));

        // Assert: the same as the C# server (DPoPBindingTests).
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
            [$"Bearer resource_metadata=\"{ResourceMetadata}\"", $"DPoP resource_metadata=\"{ResourceMetadata}\", algs=\"{DPoPAlgs}\""],
            Rpc.Challenges(challenged));
        Assert.Equal(DPoPAlgs.Split(' '), metadata.RootElement.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.False(metadata.RootElement.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
        AssertNoTokenLogged(attempt.Token);
        AssertNoTokenLogged(attempt.Proofs[0]);
    }

    [Theory]
    [MemberData(nameof(DPoPCases.Failures), MemberType = typeof(DPoPCases))]
    public async Task DPoPBoundToken_PresentedWrongly_TheSameAnswerAsTheCSharpServer(string scenario, string scheme, string error, string description)
    {
        // Arrange
        var attempt = DPoPCases.Make(scenario, Broker, fixture.Endpoint);
        if (attempt.SendTwice)
        {
            using var accepted = await SendAsync(Rpc.ToolCall("read_file"), headers: attempt.Headers());
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        var audited = (await AuditLinesAsync(GrantId(attempt.Token))).Count;

        // Act
        using var response = await SendAsync(Rpc.ToolCall("read_file"), headers: attempt.Headers());

        // Assert: exactly what DPoPBindingTests expects of the C# server, and no tool call.
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{scenario}: HTTP {(int)response.StatusCode}");
        var refusal = $"error=\"{error}\", error_description=\"{description}\"";
        Assert.Equal(
            [
                scheme == "Bearer" ? $"Bearer resource_metadata=\"{ResourceMetadata}\", {refusal}" : $"Bearer resource_metadata=\"{ResourceMetadata}\"",
                scheme == "DPoP" ? $"DPoP resource_metadata=\"{ResourceMetadata}\", {refusal}, algs=\"{DPoPAlgs}\"" : $"DPoP resource_metadata=\"{ResourceMetadata}\", algs=\"{DPoPAlgs}\"",
            ],
            Rpc.Challenges(response));
        Assert.Equal(audited, (await AuditLinesAsync(GrantId(attempt.Token))).Count);
        AssertNoTokenLogged(attempt.Token);
    }

    public static TheoryData<string, string> RefusedTokens => new()
    {
        { "another audience", "The token was not issued for this resource." },
        { "another tenant", "The token was issued for another tenant." },
        { "expired", "The token has expired." },
        { "not yet valid", "The token is not valid yet." },
        { "not at+jwt", "The token is not an access token (typ at+jwt)." },
        { "another issuer", "The token was not issued by the trusted broker." },
        { "unknown key", "The token's signing key is unknown." },
        { "tampered payload", "The token's signature is not valid." },
        { "alg none", "The token's signing algorithm is not accepted." },
        { "no task_id", "The token lacks required claims." },
        { "certificate-bound", "The token is bound to a client certificate that was not presented." },
        { "not a JWT", "The token is malformed." },
        { "too long", "The token is too long." },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task RefusedToken_401InvalidTokenWithItsReason(string scenario, string description)
    {
        // Arrange
        var now = DateTimeOffset.UtcNow;
        var token = scenario switch
        {
            "another audience" => await ExchangeAsync("crm.read", resource: TestBroker.OtherResource),
            "another tenant" => Broker.Sign(c => c["tenant"] = "acme"),
            "expired" => Broker.Sign(c => (c["iat"], c["nbf"], c["exp"]) = (now.AddMinutes(-20).ToUnixTimeSeconds(), now.AddMinutes(-20).ToUnixTimeSeconds(), now.AddMinutes(-5).ToUnixTimeSeconds())),
            "not yet valid" => Broker.Sign(c => c["nbf"] = now.AddMinutes(5).ToUnixTimeSeconds()),
            "not at+jwt" => Broker.Sign(header: h => h["typ"] = "JWT"),
            "another issuer" => Broker.Sign(c => c["iss"] = "https://broker.attacker.test"),
            "unknown key" => Broker.Sign(key: ECDsa.Create(ECCurve.NamedCurves.nistP256)),
            "tampered payload" => Tamper(await ExchangeAsync("files.read")),
            "alg none" => $"{Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt","kid":"k"}""")}.{Broker.Sign().Split('.')[1]}.",
            "no task_id" => Broker.Sign(c => c.Remove("task_id")),
            "certificate-bound" => Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["x5t#S256"] = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }),
            "not a JWT" => "not-a-jwt",
            _ => new string('a', 8193),
        };

        // Act
        using var response = await SendAsync(Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{scenario}: HTTP {(int)response.StatusCode}");
        Assert.Equal($"Bearer resource_metadata=\"{ResourceMetadata}\", error=\"invalid_token\", error_description=\"{description}\"", Rpc.Challenge(response));
        if (TokenJti(token) is { } grantId)
        {
            Assert.Empty(await AuditLinesAsync(grantId));
        }

        AssertNoTokenLogged(token);
    }

    public static TheoryData<string, string, string[]> DisagreeingHeaders => new()
    {
        { "Mcp-Name names another tool", Rpc.ToolCall("read_file"), ["Mcp-Name: write_file"] },
        { "Mcp-Name base64 of another tool", Rpc.ToolCall("read_file"), ["Mcp-Name: =?base64?d3JpdGVfZmlsZQ==?="] },
        { "Mcp-Name not valid base64", Rpc.ToolCall("read_file"), ["Mcp-Name: =?base64?***?="] },
        { "Mcp-Name twice", Rpc.ToolCall("read_file"), ["Mcp-Name: read_file", "Mcp-Name: write_file"] },
        { "Mcp-Name but the body names no tool", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""", ["Mcp-Name: read_file"] },
        { "Mcp-Method names another method", Rpc.ToolCall("read_file"), ["Mcp-Method: tools/list"] },
        { "Mcp-Method twice", Rpc.ToolCall("read_file"), ["Mcp-Method: tools/call", "Mcp-Method: tools/list"] },
        { "Mcp-Method but the body has no method", """{"jsonrpc":"2.0","id":1,"params":{"name":"read_file"}}""", ["Mcp-Method: tools/call"] },
    };

    [Theory]
    [MemberData(nameof(DisagreeingHeaders))]
    public async Task RoutingHeaderDisagreesWithBody_400AndNothingRuns(string scenario, string body, string[] headerLines)
    {
        // Arrange: a token that covers every tool, so only the headers can refuse.
        var token = await ExchangeAsync("files.read files.write", agent: Writer);
        var headers = headerLines.Select(l => l.Split(": ", 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Select(p => p[1]).ToArray());

        // Act
        using var response = await SendAsync(body, token, headers);

        // Assert
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{scenario}: HTTP {(int)response.StatusCode}");
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("2.0", error.RootElement.GetProperty("jsonrpc").GetString());
        Assert.Equal(-32020, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(await AuditLinesAsync(GrantId(token)));
    }

    [Theory]
    [InlineData("not JSON", 400)]
    [InlineData("a batch", 400)]
    [InlineData("over 1 MiB", 413)]
    [InlineData("a GET", 405)]
    [InlineData("tool constructor", 200)]
    [InlineData("tool __proto__", 200)]
    public async Task OddRequest_AnsweredWithoutRunningATool(string scenario, int status)
    {
        // Arrange
        var token = await ExchangeAsync("files.read files.write", agent: Writer);
        var body = scenario switch
        {
            "not JSON" => """{"jsonrpc":"2.0","id":1,""",
            "a batch" => $"[{Rpc.ToolCall("write_file", new { path = "batch.txt", content = "x" })}]",
            "over 1 MiB" => Rpc.ToolCall("write_file", new { path = "big.txt", content = new string('x', 1024 * 1024) }),
            "tool constructor" => Rpc.ToolCall("constructor"),
            "tool __proto__" => Rpc.ToolCall("__proto__"),
            _ => "",
        };

        // Act
        using var response = scenario == "a GET" ? await GetAsync(token) : await SendAsync(body, token);

        // Assert: answered (a JSON-RPC error where there is a body), and nothing was written.
        Assert.True((int)response.StatusCode == status, $"{scenario}: HTTP {(int)response.StatusCode}");
        var text = await response.Content.ReadAsStringAsync(Ct);
        if (status != 405)
        {
            using var json = JsonDocument.Parse(text);
            Assert.True(json.RootElement.TryGetProperty("error", out _) || json.RootElement.GetProperty("result").GetProperty("isError").GetBoolean(), text);
        }

        await using var client = await ConnectAsync(token);
        var listed = Assert.IsType<TextContentBlock>(Assert.Single((await client.CallToolAsync("list_files", cancellationToken: Ct)).Content)).Text;
        Assert.DoesNotContain("batch.txt", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("big.txt", listed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read_file")]
    [InlineData("=?base64?cmVhZF9maWxl?=")]
    public async Task RoutingHeadersAgreeWithBody_ToolRuns(string name)
    {
        // Arrange
        var token = await ExchangeAsync("files.read");
        var headers = new Dictionary<string, string[]> { ["Mcp-Method"] = ["tools/call"], ["Mcp-Name"] = [name] };

        // Act
        using var response = await SendAsync(Rpc.ToolCall("read_file", new { path = "README.md" }), token, headers);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("A sample file served by the MCP sample.", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminRevokesTheGrant_NextCallsAreRefused_OtherGrantsAreNot()
    {
        // Arrange
        var revoked = await ExchangeAsync("files.read", taskId: "ts-revoked");
        var kept = await ExchangeAsync("files.read", taskId: "ts-kept");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(revoked));

        // Act
        await AdminRevokeAsync(GrantId(revoked));

        // Assert: within a bounded wait, never a wall-clock assertion.
        await EventuallyRevokedAsync(revoked, "the admin's revocation to reach the server");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(kept));
        AssertNoTokenLogged(revoked);
    }

    [Fact]
    public async Task ParentGrantRevoked_TheTokenReExchangedFromItIsRefused()
    {
        // Arrange: the writer narrows its token by re-exchange (RFC 8693: the token as subject_token).
        var parent = await ExchangeAsync("files.read files.write", agent: Writer, taskId: "ts-parent");
        var child = await ReExchangeAsync(parent, "files.read");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(child));

        // Act: the parent is revoked; the child's token names only its own grant.
        await AdminRevokeAsync(GrantId(parent));

        // Assert: the broker revokes the chain and the feed carries an event for each grant.
        await EventuallyRevokedAsync(child, "the derived grant's revocation to reach the server");
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(parent));
        AssertNoTokenLogged(child);
    }

    [Fact]
    public async Task FeedCut_FailsClosed_RevocationsMadeMeanwhileAreAppliedOnResume()
    {
        // Arrange: the server has a position in the feed, and holds two good tokens.
        await EnsureFeedPositionAsync();
        var kept = await ExchangeAsync("files.read", taskId: "ts-feed-kept");
        var missed = await ExchangeAsync("files.read", taskId: "ts-feed-missed");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(kept));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(missed));

        // Act 1: the link to the broker goes down; the staleness rule refuses every token (fail closed).
        fixture.Relay.Cut();
        await EventuallyAsync(async () => await DescriptionAsync(kept) == "The token's revocation status is not known.", "the server to notice the silent feed");

        // Act 2: a grant is revoked while the server cannot hear it; then the link comes back.
        await AdminRevokeAsync(GrantId(missed));
        fixture.Relay.Restore();

        // Assert: the server resumes where it left off (Last-Event-ID), so the token issued before the cut is honoured
        // again (no gap to distrust) and the revocation it missed is applied.
        await EventuallyAsync(async () => await StatusAsync(kept) == HttpStatusCode.OK, "the feed to resume");
        await EventuallyRevokedAsync(missed, "the missed revocation to be replayed");
        Assert.Contains(fixture.Server.Output.Split('\n'), l => l.Contains("\"revocation-feed-connected\"", StringComparison.Ordinal) && !l.Contains("\"resumed_from\":null", StringComparison.Ordinal));
        AssertNoTokenLogged(kept);
        AssertNoTokenLogged(missed);
    }

    [Fact]
    public async Task FeedCutWhileMoreWasRevokedThanTheBrokerKeeps_ResetRefusesTokensIssuedBefore()
    {
        // Arrange: the server has a position in the feed; a token nobody revokes, and more grants than the broker's
        // revocation history holds.
        await EnsureFeedPositionAsync();
        var older = await ExchangeAsync("files.read", taskId: "ts-reset-kept");
        for (var i = 0; i <= TypeScriptServerFixture.RevocationHistory; i++)
        {
            await ExchangeAsync("files.read", taskId: "ts-reset-bulk");
        }

        // Act: while the server is cut off, every one of them is revoked, so its position falls out of the history.
        fixture.Relay.Cut();
        await EventuallyAsync(async () => await DescriptionAsync(older) == "The token's revocation status is not known.", "the server to notice the silent feed");
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/grants/revoke")
        {
            Content = JsonContent.Create(new { tenant = TestBroker.Tenant, task_id = "ts-reset-bulk", reason = "TypeScript server tests" }),
        })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await Broker.SvidAsync(TypeScriptServerFixture.Admin));
            using var response = await Broker.Client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        fixture.Relay.Restore();

        // Assert: the broker says history was lost (reset); the server cannot know which grants it missed, so it
        // refuses every token issued before the reset's "since", and honours tokens issued after it.
        await EventuallyAsync(async () => await StatusAsync(await ExchangeAsync("files.read", taskId: "ts-reset-new")) == HttpStatusCode.OK, "the feed to resume");
        Assert.Equal("The token's grant has been revoked.", await DescriptionAsync(older));
        Assert.Contains("\"revocation-feed-reset\"", fixture.Server.Output, StringComparison.Ordinal);
        AssertNoTokenLogged(older);
    }

    /// <summary>
    /// Makes sure the server has applied a revocation, and so has a position to resume from: without one it resumes
    /// "from now" and distrusts every older token, which would hide what the feed tests look for.
    /// </summary>
    private async Task EnsureFeedPositionAsync()
    {
        var marker = await ExchangeAsync("files.read", taskId: "ts-marker");
        await AdminRevokeAsync(GrantId(marker));
        await EventuallyRevokedAsync(marker, "the marker revocation");
    }

    private async Task<McpClient> ConnectAsync(string token) =>
        await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = fixture.Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        }), cancellationToken: Ct);

    private async Task<HttpResponseMessage> SendAsync(string body, string? token = null, IReadOnlyDictionary<string, string[]>? headers = null)
    {
        using var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var request = Rpc.Post(body, token, headers);
        var response = await client.SendAsync(request, Ct);
        await response.Content.LoadIntoBufferAsync(Ct);
        return response;
    }

    private async Task<HttpResponseMessage> GetAsync(string token)
    {
        using var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/mcp");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await client.SendAsync(request, Ct);
        await response.Content.LoadIntoBufferAsync(Ct);
        return response;
    }

    private async Task<HttpStatusCode> StatusAsync(string token)
    {
        using var response = await SendAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", token);
        return response.StatusCode;
    }

    /// <summary>The error_description of the 401 a token gets, or null when it is accepted.</summary>
    private async Task<string?> DescriptionAsync(string token)
    {
        using var response = await SendAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", token);
        return response.StatusCode == HttpStatusCode.Unauthorized
            ? Rpc.Challenge(response).Split("error_description=\"")[1].TrimEnd('"')
            : null;
    }

    private Task EventuallyRevokedAsync(string token, string what) =>
        EventuallyAsync(async () => await DescriptionAsync(token) == "The token's grant has been revoked.", what);

    private async Task<string> ReExchangeAsync(string token, string scope)
    {
        using var response = await Broker.Client.PostAsync("/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["subject_token"] = token,
            ["resource"] = TestBroker.Resource,
            ["scope"] = scope,
            ["task_id"] = new JsonWebToken(token).GetPayloadValue<string>("task_id"), // a re-exchange keeps both
            ["purpose"] = new JsonWebToken(token).GetPayloadValue<string>("purpose"),
        }), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"The re-exchange failed: {body}");
        using var json = JsonDocument.Parse(body);
        var derived = json.RootElement.GetProperty("access_token").GetString()!;
        fixture.Presented.Add(derived);
        return derived;
    }

    private async Task AdminRevokeAsync(string grantId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{Uri.EscapeDataString(grantId)}/revoke")
        {
            Content = JsonContent.Create(new { reason = "TypeScript server tests" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await Broker.SvidAsync(TypeScriptServerFixture.Admin));
        using var response = await Broker.Client.SendAsync(request, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"The admin revocation failed: {await response.Content.ReadAsStringAsync(Ct)}");
    }

    /// <summary>
    /// The server's mcp-audit lines for <paramref name="grantId"/>, once every line it has written so far has been
    /// read: a tool call made now is audited after them on the same stream, so its line arriving means theirs have.
    /// </summary>
    private async Task<List<JsonElement>> AuditLinesAsync(string grantId)
    {
        var probe = await ExchangeAsync("files.read", taskId: "ts-audit-probe");
        using (var response = await SendAsync(Rpc.ToolCall("list_files", new { }), probe))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await EventuallyAsync(() => Task.FromResult(AuditLines(GrantId(probe)).Count == 1), "the server's audit line");
        return AuditLines(grantId);
    }

    /// <summary>The server's mcp-audit lines (standard output) for <paramref name="grantId"/>, as read so far.</summary>
    private List<JsonElement> AuditLines(string grantId) =>
        [.. fixture.Server.StandardOutputLines
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(l => l.GetProperty("event").GetString() == "mcp-audit" && l.GetProperty("grant_id").GetString() == grantId)];

    /// <summary>A token from a real exchange, which the fixture also checks the server never printed.</summary>
    private async Task<string> ExchangeAsync(string scope, string agent = "spiffe://dev.localhost/agents/reader", string resource = TestBroker.Resource, string taskId = "task-1")
    {
        var token = await Broker.ExchangeAsync(scope, agent, resource, taskId);
        fixture.Presented.Add(token);
        return token;
    }

    private void AssertNoTokenLogged(string token)
    {
        fixture.Presented.Add(token);
        var output = fixture.Server.Output;
        Assert.DoesNotContain(token, output, StringComparison.Ordinal);
        if (token.Split('.') is [_, _, { Length: > 0 } signature])
        {
            Assert.DoesNotContain(signature, output, StringComparison.Ordinal);
        }
    }

    /// <summary>Waits for <paramref name="condition"/> with a generous deadline; never asserts on elapsed time.</summary>
    private async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting for {what}. Server output:\n{fixture.Server.Output}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        }
    }

    private static string GrantId(string token) => new JsonWebToken(token).Id;

    private static string? TokenJti(string token)
    {
        try
        {
            return new JsonWebToken(token).Id;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The broker's token with its payload changed (one more capability) and the signature kept.</summary>
    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"files.read\"", "\"files.read files.write\"", StringComparison.Ordinal);
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
