using System.Security.Cryptography;
using Broker.Errors;
using Broker.Exchange;
using Broker.Grants;
using Broker.Keys;
using Broker.Testing.Pki;
using Broker.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.Exchange;

/// <summary>
/// The exchange pipeline without HTTP: <see cref="TokenExchangeService"/> as the broker composes it (a generic host,
/// no Kestrel), on a fake clock, the in-memory grant store, an ephemeral signing key and a real policy whose trust
/// domain signs real ES256 JWT-SVIDs. What is issued follows the clock and the policy; what is refused says why.
/// </summary>
public sealed class TokenExchangeServiceTests : IAsyncLifetime
{
    private const string BrokerIssuer = "https://broker.acme.test";
    private const string Invoices = "https://mcp.acme.test/invoices";
    private const string KeyId = "acme-jwt-1";

    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _clock = new(Start);
    private readonly ECDsa _trustDomainKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly DirectoryInfo _policyDirectory = Directory.CreateTempSubdirectory("broker-exchange-service-");
    private IHost _host = null!;

    private TokenExchangeService Service => _host.Services.GetRequiredService<TokenExchangeService>();

    private IGrantStore Store => _host.Services.GetRequiredService<IGrantStore>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_policyDirectory.FullName, "acme.yaml"), Policy);
        File.WriteAllText(
            Path.Combine(_policyDirectory.FullName, "acme.json"),
            TestKeys.JwksJson([TestKeys.ToJwk(_trustDomainKey, KeyId)]).Replace("\"kid\"", "\"use\":\"jwt-svid\",\"kid\"", StringComparison.Ordinal));

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Issuer"] = BrokerIssuer,
            ["Broker:Policy:Path"] = _policyDirectory.FullName,
            ["Broker:Policy:Watch"] = "false",
            ["Broker:Keys:AllowEphemeralKey"] = "true",
        });

        // Registered before AddBroker, whose TryAdd keeps it: every part of the broker reads this clock.
        builder.Services.AddSingleton<TimeProvider>(_clock);
        builder.Services.AddLogging();
        builder.Services.AddBroker(builder.Configuration);
        _host = builder.Build();
        await _host.StartAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        _trustDomainKey.Dispose();
        _policyDirectory.Delete(recursive: true);
    }

    [Fact]
    public async Task ExchangeAsync_ValidSvid_IssuesATokenOnTheClockAndThePolicysLifetime()
    {
        // Arrange: 17 s past the minute, which the NumericDate claims drop.
        _clock.Advance(TimeSpan.FromSeconds(17.4));
        var now = DateTimeOffset.FromUnixTimeSeconds(_clock.GetUtcNow().ToUnixTimeSeconds());

        // Act
        var outcome = await Service.ExchangeAsync(Request(Svid("/agents/reader")), Caller, Ct);

        // Assert: the answer. invoices.read has max_lifetime 5m, under the tenant's 10m.
        var issued = Assert.IsType<ExchangeOutcome.Issued>(outcome);
        Assert.Equal(300, issued.Response.ExpiresIn);
        Assert.Equal("invoices.read", issued.Response.Scope);
        Assert.Equal("Bearer", issued.Response.TokenType);

        // The token: signed by the broker's active key, iat and exp from the fake clock and the policy.
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(issued.Response.AccessToken, new TokenValidationParameters
        {
            ValidIssuer = BrokerIssuer,
            ValidAudience = Invoices,
            IssuerSigningKey = _host.Services.GetRequiredService<ISigningKeyProvider>().Active.Key,
            LifetimeValidator = (_, _, _, _) => true,
        });
        Assert.True(validation.IsValid, validation.Exception?.Message);
        var token = new JsonWebToken(issued.Response.AccessToken);
        Assert.Equal(now.ToUnixTimeSeconds(), token.GetPayloadValue<long>("iat"));
        Assert.Equal(now.AddMinutes(5).ToUnixTimeSeconds(), token.GetPayloadValue<long>("exp"));
        Assert.Equal("spiffe://acme.test/agents/reader", token.Subject);
        Assert.Equal(issued.Grant.Id, token.Id);

        // The grant: recorded before the token was minted, with the same times.
        var recorded = await Store.FindAsync(issued.Grant.Id, Ct);
        Assert.NotNull(recorded);
        Assert.Equal("acme", recorded.Tenant);
        Assert.Equal(["invoices.read"], recorded.Capabilities);
        Assert.Equal(now, recorded.IssuedAt);
        Assert.Equal(now.AddMinutes(5), recorded.ExpiresAt);
        Assert.Equal("task-reader", recorded.TaskId);
    }

    [Fact]
    public async Task ExchangeAsync_ShorterRequestedLifetime_IsHonoured()
    {
        // Act
        var outcome = await Service.ExchangeAsync(Request(Svid("/agents/reader")) with { RequestedLifetime = TimeSpan.FromSeconds(90) }, Caller, Ct);

        // Assert
        var issued = Assert.IsType<ExchangeOutcome.Issued>(outcome);
        Assert.Equal(90, issued.Response.ExpiresIn);
        Assert.Equal(Start.AddSeconds(90), issued.Grant.ExpiresAt);
    }

    [Fact]
    public async Task ExchangeAsync_SubjectTokenExpiredOnceTheClockMoves_IsRefusedAsExpired()
    {
        // Arrange: a five-minute SVID that is accepted now.
        var svid = Svid("/agents/reader");
        Assert.IsType<ExchangeOutcome.Issued>(await Service.ExchangeAsync(Request(svid), Caller, Ct));

        // Act: the same SVID ten minutes later (past any clock skew).
        _clock.Advance(TimeSpan.FromMinutes(10));
        var outcome = await Service.ExchangeAsync(Request(svid), Caller, Ct);

        // Assert
        AssertRejected(ErrorCatalog.SubjectExpired, outcome);
    }

    [Fact]
    public async Task ExchangeAsync_UnknownCapability_IsRefusedAndRecordsNothing()
    {
        // Act
        var outcome = await Service.ExchangeAsync(Request(Svid("/agents/reader"), capabilities: ["invoices.delete"], taskId: "task-unknown"), Caller, Ct);

        // Assert
        AssertRejected(ErrorCatalog.ScopeNotAllowed, outcome);
        Assert.Empty((await Store.ListAsync(GrantQuery.ForTask("acme", "task-unknown"), null, 10, Ct)).Grants);
    }

    [Fact]
    public async Task ExchangeAsync_CapabilityNoRuleGivesThisSubject_IsRefused()
    {
        // Act: invoices.write exists, but only billing may have it.
        var outcome = await Service.ExchangeAsync(Request(Svid("/agents/reader"), capabilities: ["invoices.write"], purpose: "billing"), Caller, Ct);

        // Assert
        AssertRejected(ErrorCatalog.ScopeNotAllowed, outcome);
    }

    [Fact]
    public async Task ExchangeAsync_TaskLimitReached_IsRefused()
    {
        // Arrange: the tenant's task_limits allow two grants per task.
        for (var i = 0; i < 2; i++)
        {
            Assert.IsType<ExchangeOutcome.Issued>(await Service.ExchangeAsync(Request(Svid("/agents/reader"), taskId: "task-limited"), Caller, Ct));
        }

        // Act: a third grant of the task, and a first one of another task.
        var third = await Service.ExchangeAsync(Request(Svid("/agents/reader"), taskId: "task-limited"), Caller, Ct);
        var otherTask = await Service.ExchangeAsync(Request(Svid("/agents/reader"), taskId: "task-other"), Caller, Ct);

        // Assert
        AssertRejected(ErrorCatalog.TaskGrantLimit, third);
        Assert.IsType<ExchangeOutcome.Issued>(otherTask);
    }

    [Fact]
    public async Task ExchangeAsync_DelegatedTokenReExchangedForMoreThanItsGrant_IsRefused()
    {
        // Arrange: an orchestrator acting for billing gets invoices.read only.
        var delegated = Assert.IsType<ExchangeOutcome.Issued>(await Service.ExchangeAsync(
            Request(Svid("/agents/billing"), taskId: "task-billing", purpose: "billing") with { ActorToken = Svid("/orchestrator/planner"), ActorTokenType = CapabilityTokenTypes.Jwt },
            Caller,
            Ct));
        Assert.Equal(["spiffe://acme.test/orchestrator/planner"], delegated.Grant.ActorChain);

        // Act: the delegated token as subject, asking for invoices.write too (which the rule would give billing).
        var widened = await Service.ExchangeAsync(
            Request(delegated.Response.AccessToken, capabilities: ["invoices.read", "invoices.write"], taskId: "task-billing", purpose: "billing") with { SubjectTokenType = CapabilityTokenTypes.AccessToken },
            Caller,
            Ct);
        var narrowed = await Service.ExchangeAsync(
            Request(delegated.Response.AccessToken, taskId: "task-billing", purpose: "billing") with { SubjectTokenType = CapabilityTokenTypes.AccessToken },
            Caller,
            Ct);

        // Assert: narrowing only; the narrowed grant is the delegated one's child and keeps its chain.
        AssertRejected(ErrorCatalog.ScopeBeyondSubjectToken, widened);
        var child = Assert.IsType<ExchangeOutcome.Issued>(narrowed);
        Assert.Equal(delegated.Grant.Id, child.Grant.ParentGrantId);
        Assert.Equal(delegated.Grant.ActorChain, child.Grant.ActorChain);
    }

    [Fact]
    public async Task ExchangeAsync_ReExchangeOfARevokedGrant_IsRefused()
    {
        // Arrange
        var parent = Assert.IsType<ExchangeOutcome.Issued>(await Service.ExchangeAsync(Request(Svid("/agents/reader"), taskId: "task-revoked"), Caller, Ct));
        await Store.RevokeAsync(parent.Grant.Id, "spiffe://acme.test/admins/alice", "test", Ct);

        // Act
        var outcome = await Service.ExchangeAsync(
            Request(parent.Response.AccessToken, taskId: "task-revoked") with { SubjectTokenType = CapabilityTokenTypes.AccessToken }, Caller, Ct);

        // Assert
        AssertRejected(ErrorCatalog.SubjectGrantNotActive, outcome);
    }

    /// <summary>
    /// Subject tokens the exchange must refuse, and why. A <c>sub</c> that is no SPIFFE ID names no trust domain, so no
    /// identity source is chosen for it (JWT-SVIDs are trusted by their subject's trust domain, never their iss).
    /// </summary>
    public static TheoryData<string, string> BadSubjectTokens => new()
    {
        { "empty", "subject.malformed" },
        { "not a jwt", "subject.malformed" },
        { "two segments", "subject.malformed" },
        { "alg none", "subject.unsupported_algorithm" },
        { "HS256", "subject.unsupported_algorithm" },
        { "unknown kid", "subject.unknown_key" },
        { "another key", "subject.invalid_signature" },
        { "untrusted trust domain", "subject.untrusted_issuer" },
        { "wrong audience", "subject.invalid_audience" },
        { "no exp", "subject.missing_exp" },
        { "issued in the future", "subject.not_yet_valid" },
        { "sub not a SPIFFE ID", "subject.untrusted_issuer" },
    };

    [Theory]
    [MemberData(nameof(BadSubjectTokens))]
    public async Task ExchangeAsync_BadSubjectToken_IsRefusedWithItsReason(string token, string reason)
    {
        // Arrange
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        var claims = new Dictionary<string, object> { ["sub"] = "spiffe://acme.test/agents/reader", ["aud"] = new[] { BrokerIssuer }, ["iat"] = now, ["exp"] = now + 300 };
        var header = new Dictionary<string, object> { ["alg"] = "ES256", ["kid"] = KeyId, ["typ"] = "JWT" };
        var subjectToken = token switch
        {
            "empty" => string.Empty,
            "not a jwt" => "not a jwt",
            "two segments" => Svid("/agents/reader")[..Svid("/agents/reader").LastIndexOf('.')],
            "alg none" => TestKeys.Sign(With(header, "alg", "none"), claims, null, "none"),
            "HS256" => TestKeys.SignHmac(With(header, "alg", "HS256"), claims, RandomNumberGenerator.GetBytes(32)),
            "unknown kid" => TestKeys.Sign(With(header, "kid", "nobody"), claims, _trustDomainKey, "ES256"),
            "another key" => TestKeys.Sign(header, claims, otherKey, "ES256"),
            "untrusted trust domain" => TestKeys.Sign(header, With(claims, "sub", "spiffe://evil.test/agents/reader"), _trustDomainKey, "ES256"),
            "wrong audience" => TestKeys.Sign(header, With(claims, "aud", new[] { "https://other.test" }), _trustDomainKey, "ES256"),
            "no exp" => TestKeys.Sign(header, Without(claims, "exp"), _trustDomainKey, "ES256"),
            "issued in the future" => TestKeys.Sign(header, With(With(claims, "iat", now + 3600), "exp", now + 3900), _trustDomainKey, "ES256"),
            "sub not a SPIFFE ID" => TestKeys.Sign(header, With(claims, "sub", "reader"), _trustDomainKey, "ES256"),
            _ => throw new ArgumentOutOfRangeException(nameof(token)),
        };

        // Act
        var outcome = await Service.ExchangeAsync(Request(subjectToken), Caller, Ct);

        // Assert
        var rejected = Assert.IsType<ExchangeOutcome.Rejected>(outcome);
        Assert.Equal(reason, rejected.Reason.Reason);
    }

    [Fact]
    public async Task ExchangeAsync_ActorTheRuleDoesNotAllow_IsRefused()
    {
        // Act: a reader's SVID as actor for billing.
        var outcome = await Service.ExchangeAsync(
            Request(Svid("/agents/billing"), purpose: "billing") with { ActorToken = Svid("/agents/reader"), ActorTokenType = CapabilityTokenTypes.Jwt },
            Caller,
            Ct);

        // Assert
        AssertRejected(ErrorCatalog.ActorNotAllowed, outcome);
    }

    [Fact]
    public async Task ExchangeAsync_NullArguments_Throw()
    {
        // Act and Assert: bugs in the caller, not requests to refuse.
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Service.ExchangeAsync(null!, Caller, Ct));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await Service.ExchangeAsync(Request(Svid("/agents/reader")), null!, Ct));
    }

    private static ExchangeCaller Caller { get; } = new("10.1.2.3");

    private const string Policy = $$"""
        tenant: acme
        max_lifetime: 10m
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_file: acme.json
        task_limits:
          max_grants: 2
        capabilities:
          - name: invoices.read
            resource: {{Invoices}}
            max_lifetime: 5m
          - name: invoices.write
            resource: {{Invoices}}
            max_lifetime: 2m
        rules:
          - name: agents read invoices
            subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read]
            permissions: [execute]
          - name: billing writes invoices, also through orchestrators
            subjects: ["spiffe://acme.test/agents/billing"]
            capabilities: [invoices.read, invoices.write]
            permissions: [execute]
            purposes: [billing]
            delegation:
              actors: ["spiffe://acme.test/orchestrator/**"]
              max_depth: 2
        """;

    private static TokenExchangeRequest Request(string subjectToken, IReadOnlyList<string>? capabilities = null, string taskId = "task-reader", string purpose = "reconcile") => new()
    {
        SubjectToken = subjectToken,
        SubjectTokenType = CapabilityTokenTypes.Jwt,
        Resource = Invoices,
        Capabilities = capabilities ?? ["invoices.read"],
        RequestedTokenType = CapabilityTokenTypes.AccessToken,
        TaskId = taskId,
        Purpose = purpose,
    };

    /// <summary>A five-minute JWT-SVID of <c>spiffe://acme.test{path}</c> for this broker, issued now on the fake clock.</summary>
    private string Svid(string path)
    {
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        return TestKeys.Sign(
            new Dictionary<string, object> { ["alg"] = "ES256", ["kid"] = KeyId, ["typ"] = "JWT" },
            new Dictionary<string, object> { ["sub"] = "spiffe://acme.test" + path, ["aud"] = new[] { BrokerIssuer }, ["iat"] = now, ["exp"] = now + 300 },
            _trustDomainKey,
            "ES256");
    }

    private static void AssertRejected(ErrorDescriptor expected, ExchangeOutcome outcome)
    {
        var rejected = Assert.IsType<ExchangeOutcome.Rejected>(outcome);
        Assert.Equal(expected.Reason, rejected.Reason.Reason);
        Assert.Equal(expected, rejected.Reason);
    }

    private static Dictionary<string, object> With(Dictionary<string, object> json, string name, object value) => new(json) { [name] = value };

    private static Dictionary<string, object> Without(Dictionary<string, object> json, string name)
    {
        var copy = new Dictionary<string, object>(json);
        copy.Remove(name);
        return copy;
    }
}
