using System.Net;
using Broker.DPoP;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;

namespace Broker.IntegrationTests.DPoP;

/// <summary>
/// A broker that requires server nonces in DPoP proofs (<c>Broker:DPoP:RequireNonce</c>, RFC 9449 §8), and a tenant
/// that requires proof of possession for every capability (<c>proof_of_possession: true</c> at the tenant).
/// </summary>
public sealed class DPoPNonceTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();

    public async ValueTask InitializeAsync()
    {
        _fixture.Configure = s => s.Configure<DPoPOptions>(o => o.RequireNonce = true);
        _fixture.BeforeStart = () =>
        {
            var path = Path.Combine(_fixture.Directory.Path, "policy", "globex.yaml");
            File.WriteAllText(path, File.ReadAllText(path).Replace("tenant: globex\n", "tenant: globex\nproof_of_possession: true\n", StringComparison.Ordinal));
        };
        await _fixture.InitializeAsync();
    }

    public async ValueTask DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task Exchange_ProofWithoutNonce_IsAnsweredUseDPoPNonceWithANonce_AndTheRetryWithItIsBound()
    {
        // Arrange
        var key = DPoPExchange.NewKey();

        // Act: the client's first proof has no nonce; it retries with the one the broker sent.
        var challenge = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof());
        var retry = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), key.Proof(challenge.Nonce));

        // Assert: RFC 9449 §8, 400 use_dpop_nonce with DPoP-Nonce; §8.2, a current nonce on the success too.
        Assert.Equal((HttpStatusCode.BadRequest, "use_dpop_nonce"), (challenge.Answer.Status, challenge.Answer.Error));
        Assert.NotNull(challenge.Nonce);
        Assert.Equal(HttpStatusCode.OK, retry.Answer.Status);
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(retry.Answer.AccessToken));
        Assert.NotNull(retry.Nonce);
        Assert.Equal("dpop.missing_nonce", _fixture.Host.AuditTrail.First(e => e.Reason?.StartsWith("dpop.", StringComparison.Ordinal) == true).Reason);
    }

    [Fact]
    public async Task Exchange_ProofWithANonceThisBrokerDidNotIssue_IsAnsweredUseDPoPNonce()
    {
        // Act
        var response = await DPoPExchange.PostAsync(
            _fixture.Host.Client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")), DPoPExchange.NewKey().Proof("eyJ7S_zG.eyJH0-Z.HX4w-7v"));

        // Assert
        Assert.Equal((HttpStatusCode.BadRequest, "use_dpop_nonce"), (response.Answer.Status, response.Answer.Error));
        Assert.NotNull(response.Nonce);
    }

    [Fact]
    public async Task Exchange_InTenantRequiringProofOfPossession_RefusesBearer_AndGrantsBoundToken()
    {
        // Arrange: the tenant says proof_of_possession: true; its capability does not.
        var key = DPoPExchange.NewKey();
        var first = await DPoPExchange.PostAsync(_fixture.Host.Client, ExchangeFixture.Request(_fixture.Globex.Svid("/agents/a"), resource: ExchangeFixture.GlobexInvoicesResource));

        // Act
        var bound = await DPoPExchange.PostAsync(
            _fixture.Host.Client, ExchangeFixture.Request(_fixture.Globex.Svid("/agents/a"), resource: ExchangeFixture.GlobexInvoicesResource), key.Proof(first.Nonce));

        // Assert: a bearer request is refused saying what to send; a request with a proof gets a DPoP-bound token.
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (first.Answer.Status, first.Answer.Error));
        Assert.Contains("DPoP proof", first.Answer.Json.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Contains(_fixture.Host.AuditTrail, e => e.Reason == "policy.pop_required" && e.Tenant == "globex");
        Assert.Equal(HttpStatusCode.OK, bound.Answer.Status);
        Assert.Equal(DPoPExchange.BoundTo(key), DPoPExchange.Confirmation(bound.Answer.AccessToken));
    }
}
