using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.IntegrationTests.Infrastructure;
using Broker.IntegrationTests.Redis;
using Broker.Keys;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Keys;

/// <summary>Two replicas sharing one key ring in a real Redis: what they publish, sign with, store and refuse.</summary>
public sealed class SharedKeyRingTests(RedisServerFixture redis) : IAsyncLifetime
{
    private KeyRingReplicas _replicas = null!;

    // Polls every 5 s: a rotation's new key signs only after 10 s (JwksMaxAge 0 + two polls), so the tests see it as
    // next whatever the machine's load; replicas hear of changes through pub/sub long before.
    public async ValueTask InitializeAsync() => _replicas = await KeyRingReplicas.StartAsync(
        redis.Configuration,
        s => s.Configure<KeysOptions>(o => o.Rotation.PollInterval = TimeSpan.FromSeconds(5)));

    public ValueTask DisposeAsync() => _replicas.DisposeAsync();

    [Fact]
    public async Task TwoReplicas_PublishTheSameRing_AndSignWithTheSameActiveKey()
    {
        // Act
        var a = await KeyRingReplicas.JwksKidsAsync(_replicas.A);
        var b = await KeyRingReplicas.JwksKidsAsync(_replicas.B);
        var tokenA = await ExchangeAsync(_replicas.A);
        var tokenB = await ExchangeAsync(_replicas.B);

        // Assert: one ring of one key, created by whichever replica started first; both sign with it.
        Assert.Single(a);
        Assert.Equal(a, b);
        Assert.Equal(a[0], new JsonWebToken(tokenA).Kid);
        Assert.Equal(a[0], new JsonWebToken(tokenB).Kid);
        Assert.Equal(_replicas.RingA.Version, _replicas.RingB.Version);
    }

    [Fact]
    public async Task RotationOnOneReplica_IsPublishedByTheOther_WithinSeconds_ThroughPubSub()
    {
        // Arrange: a third replica that polls only once a minute, so only the announcement can tell it in time.
        var slow = await _replicas.StartAnotherAsync(s =>
        {
            s.Configure<KeysOptions>(o =>
            {
                o.Rotation.PollInterval = TimeSpan.FromMinutes(1);
                o.Rotation.PrePublication = TimeSpan.FromMinutes(10);
            });
        });
        var before = await KeyRingReplicas.JwksKidsAsync(slow);

        // Act
        var (status, body) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, "/admin/v1/keys/rotate");

        // Assert: the new key is published by the other replicas (as next: it was never published before, so it signs
        // only after the safe publication delay).
        Assert.Equal(HttpStatusCode.OK, status);
        var kid = body.GetProperty("kid").GetString()!;
        Assert.DoesNotContain(kid, before);
        Assert.Equal(before[0], body.GetProperty("previous_kid").GetString());
        Assert.True(body.GetProperty("activates_at").GetDateTimeOffset() > DateTimeOffset.UtcNow, "A key published just now must not sign at once.");
        await Eventually.HoldsAsync(async () => (await KeyRingReplicas.JwksKidsAsync(slow)).Contains(kid), TimeSpan.FromSeconds(5));
        await Eventually.HoldsAsync(async () => (await KeyRingReplicas.JwksKidsAsync(_replicas.B)).Contains(kid), TimeSpan.FromSeconds(5));
        Assert.Equal(before[0], new JsonWebToken(await ExchangeAsync(slow)).Kid);
    }

    [Fact]
    public async Task PrivateKeys_InRedis_AreNotClearText()
    {
        // Arrange: the active key's PKCS#8 bytes, as this process holds them.
        var pkcs8 = _replicas.RingA.Active.Key.ECDsa.ExportPkcs8PrivateKey();
        var d = _replicas.RingA.Active.Key.ECDsa.ExportParameters(includePrivateParameters: true).D!;
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await using var disposeConnection = connection;
        var prefix = _replicas.Settings["Broker:Redis:KeyPrefix"]!;
        var server = connection.GetServers()[0];
        var values = new List<byte[]>();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*"))
        {
            var type = await connection.GetDatabase().KeyTypeAsync(key);
            values.AddRange(type switch
            {
                RedisType.String => [(byte[])(await connection.GetDatabase().StringGetAsync(key))!],
                RedisType.Hash => (await connection.GetDatabase().HashGetAllAsync(key)).Select(e => (byte[])e.Value!),
                RedisType.List => (await connection.GetDatabase().ListRangeAsync(key)).Select(v => (byte[])v!),
                _ => [],
            });
        }

        var ring = JsonDocument.Parse((string)(await connection.GetDatabase().HashGetAsync(prefix + "keyring", "ring"))!);
        var stored = ring.RootElement.GetProperty("keys")[0].GetProperty("protected_private_key").GetString()!;

        // Assert: the stored form is not a key, and no value under the prefix holds the key (raw, base64 or base64url).
        var storedBytes = Base64UrlEncoder.DecodeBytes(stored);
        using (var probe = ECDsa.Create())
        {
            Assert.ThrowsAny<CryptographicException>(() => probe.ImportPkcs8PrivateKey(storedBytes, out _));
        }

        string[] encodings = [Convert.ToBase64String(pkcs8), Base64UrlEncoder.Encode(pkcs8), Convert.ToBase64String(d), Base64UrlEncoder.Encode(d)];
        Assert.NotEmpty(values);
        foreach (var value in values)
        {
            Assert.True(value.AsSpan().IndexOf(pkcs8) < 0, "A value in Redis holds the PKCS#8 private key.");
            Assert.True(value.AsSpan().IndexOf(d) < 0, "A value in Redis holds the private scalar.");
            var text = Encoding.Latin1.GetString(value);
            Assert.DoesNotContain(encodings, e => text.Contains(e, StringComparison.Ordinal));
        }

        // Data Protection's own keys are encrypted to the certificate (XML Encryption), not stored in clear.
        var dataProtection = (await connection.GetDatabase().ListRangeAsync(prefix + "dataprotection:keys")).Select(v => (string)v!).ToList();
        Assert.NotEmpty(dataProtection);
        Assert.All(dataProtection, xml =>
        {
            Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Jwks_CarriesCacheHeaders_AndAnsweresAConditionalRequestWith304()
    {
        // Act
        using var first = await _replicas.A.Client.GetAsync("/.well-known/jwks.json");
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/.well-known/jwks.json");
        conditional.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await _replicas.A.Client.SendAsync(conditional);
        using var fromB = await _replicas.B.Client.GetAsync("/.well-known/jwks.json");

        // Assert: public, max-age as configured; the same set has the same validator on every replica.
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(first.Headers.CacheControl!.Public);
        Assert.Equal(TimeSpan.Zero, first.Headers.CacheControl.MaxAge);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Equal(first.Headers.ETag, fromB.Headers.ETag);
    }

    public static TheoryData<string, HttpStatusCode, string> BadRetirements => new()
    {
        { "bm90LWEta2lk", HttpStatusCode.NotFound, "not_found" },
        { new string('a', 129), HttpStatusCode.NotFound, "not_found" },
        { "kid%20with%20spaces", HttpStatusCode.NotFound, "not_found" },
        { "..%2F..%2Fadmin", HttpStatusCode.NotFound, "not_found" },
    };

    [Theory]
    [MemberData(nameof(BadRetirements))]
    public async Task Retire_UnknownOrMalformedKid_IsNotFound(string kid, HttpStatusCode expected, string error)
    {
        var (status, body) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, $"/admin/v1/keys/{kid}/retire");

        Assert.Equal(expected, status);
        Assert.Equal(error, body.GetProperty("error").GetString());
        Assert.Contains("brokerctl keys list", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retire_TheActiveKey_IsAConflict_AndChangesNothing()
    {
        var active = (await KeyRingReplicas.JwksKidsAsync(_replicas.A))[0];
        var version = _replicas.RingA.Version;

        var (status, body) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, $"/admin/v1/keys/{active}/retire");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("invalid_request", body.GetProperty("error").GetString());
        Assert.Contains("rotate first", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(version, _replicas.RingA.Version);
        Assert.Equal(active, new JsonWebToken(await ExchangeAsync(_replicas.B)).Kid);
    }

    [Fact]
    public async Task Retire_ANextKeyAboutToSign_IsAConflict()
    {
        // Arrange: a next key (rotate publishes one that signs only after the safe publication delay: 2 × 5 s).
        var (_, rotated) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, "/admin/v1/keys/rotate");
        var next = rotated.GetProperty("kid").GetString()!;

        // Act: it is about to sign (within the safe publication delay), so retiring it is refused...
        var (soon, soonBody) = await _replicas.AdminAsync(_replicas.B, HttpMethod.Post, $"/admin/v1/keys/{next}/retire");

        // Assert
        Assert.Equal(HttpStatusCode.Conflict, soon);
        Assert.Equal("invalid_request", soonBody.GetProperty("error").GetString());
    }

    [Fact]
    public async Task KeysAdmin_TenantAdminOrAgent_IsForbidden_NoToken_IsUnauthenticated()
    {
        var tenantAdmin = _replicas.Fixture.Acme.Svid("/admins/alice");
        var agent = _replicas.Fixture.Acme.Svid("/agents/reader");

        var (asTenantAdmin, body) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, "/admin/v1/keys/rotate", tenantAdmin);
        var (asAgent, _) = await _replicas.AdminAsync(_replicas.A, HttpMethod.Get, "/admin/v1/keys", agent);
        using var anonymous = await _replicas.A.Client.PostAsync("/admin/v1/keys/rotate", null);

        Assert.Equal(HttpStatusCode.Forbidden, asTenantAdmin);
        Assert.Contains("Only global admins", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, asAgent);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Single(_replicas.RingA.Statuses);
    }

    [Fact]
    public async Task ListKeys_ShowsStatesAndTimes()
    {
        await _replicas.AdminAsync(_replicas.A, HttpMethod.Post, "/admin/v1/keys/rotate");

        var (status, body) = await _replicas.AdminAsync(_replicas.B, HttpMethod.Get, "/admin/v1/keys");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("redis", body.GetProperty("store").GetString());
        var keys = body.GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(["active", "next"], keys.Select(k => k.GetProperty("state").GetString()));
        Assert.All(keys, k => Assert.Equal("generated", k.GetProperty("origin").GetString()));
        Assert.True(keys[0].TryGetProperty("retired_at", out _), "The active key shows when the rotation retires it.");
    }

    private async Task<string> ExchangeAsync(BrokerTestHost host)
    {
        using var content = new FormUrlEncodedContent(Exchange.ExchangeFixture.Request(_replicas.Fixture.Acme.Svid("/agents/reader")));
        using var response = await host.Client.PostAsync("/oauth2/token", content);
        var answer = await Exchange.ExchangeResponse.ReadAsync(response);
        Assert.True(answer.Status == HttpStatusCode.OK, answer.Body);
        return answer.AccessToken;
    }
}
