using System.Net;
using Broker.IntegrationTests.Infrastructure;
using Broker.Keys;
using Broker.Policy;
using Broker.Subjects;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Broker.IntegrationTests.Exchange;

/// <summary>Keys and policy that change while the broker runs.</summary>
public sealed class TrustRotationTests
{
    [Fact]
    public async Task BundleFile_KeyRemoved_CachedTokenIsRejectedAndNewKeyAccepted()
    {
        await using var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        var svid = fixture.Acme.Svid("/agents/reader", lifetime: TimeSpan.FromMinutes(30));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(svid))).Status);

        // Rotate: the old key leaves the bundle, a new one arrives.
        var oldKey = fixture.Acme.ActiveKey;
        fixture.Acme.Keys.Clear();
        fixture.Acme.Keys.Add(TestKey.CreateEs256());
        fixture.Acme.WriteBundle();

        // The same token, although validated (and cached) before, is refused once the bundle reloads.
        await Eventually.HoldsAsync(async () => (await fixture.ExchangeAsync(ExchangeFixture.Request(svid))).Error == "invalid_grant", TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")))).Status);
        Assert.Equal("invalid_grant", (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/other", key: oldKey)))).Error);
    }

    [Fact]
    public async Task OidcIssuer_UnknownKids_TriggerAtMostOneRefetchPerInterval()
    {
        await using var fixture = new ExchangeFixture { Configure = s => s.Configure<SubjectsOptions>(o => o.MinimumKeyRefreshInterval = TimeSpan.FromMinutes(10)) };
        await fixture.InitializeAsync();
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot")))).Status);
        var forged = Enumerable.Range(0, 20).Select(_ => fixture.Oidc.ServiceAccountToken("payments", "bot", key: TestKey.CreateEs256())).ToList();
        var fetchesBefore = fixture.Oidc.JwksFetches;

        // A stream of tokens with unknown kids must not make the broker hammer the issuer.
        foreach (var token in forged)
        {
            Assert.Equal("invalid_grant", (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Error);
        }

        Assert.InRange(fixture.Oidc.JwksFetches - fetchesBefore, 0, 1);
    }

    [Fact]
    public async Task OidcIssuer_RotatedKey_IsFetchedOnUnknownKidAndAccepted()
    {
        await using var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot")))).Status);

        // The issuer rotates; after the minimum interval (1 s in tests) the new kid is fetched and accepted.
        var rotated = TestKey.CreateEs256();
        fixture.Oidc.Keys.Add(rotated);
        await Eventually.HoldsAsync(async () =>
            (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot", key: rotated)))).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task BundleFile_KeyReplacedUnderTheSameKid_CachedTokenIsRefused()
    {
        await using var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        var svid = fixture.Acme.Svid("/agents/reader", lifetime: TimeSpan.FromMinutes(30));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(svid))).Status);

        // The trust domain replaces its key but keeps the kid: the cache must compare key material, not names.
        fixture.Acme.Keys[0] = TestKey.CreateEs256(fixture.Acme.ActiveKey.KeyId);
        fixture.Acme.WriteBundle();

        await Eventually.HoldsAsync(async () => (await fixture.ExchangeAsync(ExchangeFixture.Request(svid))).Error == "invalid_grant", TimeSpan.FromSeconds(15));
        Assert.Equal("subject.invalid_signature", fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(svid).ToString()).Reason);
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")))).Status);
    }

    [Fact]
    public async Task OidcIssuer_KeyRemoved_CachedTokenStopsValidatingWithinTheRefreshInterval()
    {
        // Arrange: the broker's clock is the test's; the issuer's keys are fetched at the first exchange.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fixture = new ExchangeFixture { Services = s => s.AddSingleton<TimeProvider>(clock) };
        await fixture.InitializeAsync();
        var token = fixture.Oidc.ServiceAccountToken("payments", "bot", lifetime: TimeSpan.FromHours(3));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Status);
        var fetches = fixture.Oidc.JwksFetches;

        // Act: the issuer stops publishing the key that signed the token.
        fixture.Oidc.Keys.RemoveAt(0);

        // Assert: inside the refresh interval (1 hour by default) the cached result stands and nothing is fetched, ...
        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Status);
        Assert.Equal(fetches, fixture.Oidc.JwksFetches);

        // ... and once it has passed, the keys are fetched again and the same token is refused.
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("invalid_grant", (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Error);
        Assert.Equal("subject.unknown_key", fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(token).ToString()).Reason);
        Assert.True(fixture.Oidc.JwksFetches > fetches);
    }

    [Fact]
    public async Task OidcIssuer_KeyReplacedUnderTheSameKid_CachedTokenIsRefusedOnceTheNewKeyIsFetched()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fixture = new ExchangeFixture { Services = s => s.AddSingleton<TimeProvider>(clock) };
        await fixture.InitializeAsync();
        var token = fixture.Oidc.ServiceAccountToken("payments", "bot", lifetime: TimeSpan.FromHours(3));
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Status);

        // The issuer replaces its key but keeps the kid.
        var replacement = TestKey.CreateRs256(fixture.Oidc.Keys[0].KeyId);
        fixture.Oidc.Keys[0] = replacement;

        // Any refetch (here: one for a kid the broker does not know) brings the new key in, and from then on the cached
        // token no longer matches the key published under its kid: same kid, other thumbprint.
        var unknownKid = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot", key: TestKey.CreateRs256())));
        Assert.Equal("invalid_grant", unknownKid.Error);
        Assert.Equal("invalid_grant", (await fixture.ExchangeAsync(ExchangeFixture.Request(token))).Error);
        Assert.Equal("subject.invalid_signature", fixture.Host.AuditTrail.Last(e => e.SubjectTokenSha256 == TokenHash.Of(token).ToString()).Reason);

        // The same workload with a token from the new key is accepted.
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot", key: replacement)))).Status);
    }

    [Fact]
    public async Task OidcIssuer_JwksUriOnAnotherHost_IsNeverFetched()
    {
        await using var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        await using var elsewhere = await TestOidcIssuer.StartAsync();
        fixture.Oidc.JwksUriOverride = elsewhere.Issuer.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/keys";

        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Oidc.ServiceAccountToken("payments", "bot")));

        Assert.Equal("invalid_grant", response.Error);
        Assert.Equal(0, elsewhere.JwksFetches);
    }

    [Fact]
    public async Task Policy_EditedWhileRunning_TakesEffect_AndABadEditKeepsTheLastGoodPolicy()
    {
        await using var fixture = new ExchangeFixture();
        await fixture.InitializeAsync();
        var policy = fixture.Host.Services.GetRequiredService<IPolicyProvider>();
        var original = policy.Current!.Version;
        var writer = fixture.Acme.Svid("/agents/reader");
        Assert.Equal("invalid_scope", (await fixture.ExchangeAsync(ExchangeFixture.Request(writer, scope: "invoices.write"))).Error);

        // A valid edit: readers may now write.
        var path = Path.Combine(fixture.Directory.Path, "policy", "acme.yaml");
        var text = await File.ReadAllTextAsync(path);
        await File.WriteAllTextAsync(path, text.Replace("capabilities: [invoices.read, crm.read, secrets.read]", "capabilities: [invoices.read, invoices.write, crm.read, secrets.read]", StringComparison.Ordinal));
        await Eventually.HoldsAsync(() => Task.FromResult(policy.Current!.Version != original), TimeSpan.FromSeconds(15));
        var widened = await fixture.ExchangeAsync(ExchangeFixture.Request(writer, scope: "invoices.write"));
        Assert.Equal(HttpStatusCode.OK, widened.Status);
        var version = policy.Current!.Version;

        // A broken edit is refused; the last good policy stays in force.
        await File.WriteAllTextAsync(path, "tenant: acme\ncapabilities: [unclosed\n");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var reload = policy.Reload();
        Assert.False(reload.Succeeded);
        Assert.Contains(reload.Errors, e => e.File == "acme.yaml" && e.Line > 0);
        Assert.Equal(version, policy.Current!.Version);
        Assert.Equal(HttpStatusCode.OK, (await fixture.ExchangeAsync(ExchangeFixture.Request(writer, scope: "invoices.write"))).Status);
    }

    [Fact]
    public async Task Host_InvalidPolicyAtStart_RefusesToStart()
    {
        using var directory = new TempDirectory();
        directory.Write("bad.yaml", "tenant: acme\nrules: 5\n");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => BrokerTestHost.StartAsync(directory.Path));

        Assert.Contains("bad.yaml:2:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_NoSigningKeyConfigured_RefusesToStart()
    {
        using var directory = new TempDirectory();
        directory.Write("p.yaml", "tenant: acme\n");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => BrokerTestHost.StartAsync(directory.Path, s => s.Configure<KeysOptions>(o => o.AllowEphemeralKey = false)));

        Assert.Contains("SigningKeyFiles", error.Message, StringComparison.Ordinal);
    }
}
