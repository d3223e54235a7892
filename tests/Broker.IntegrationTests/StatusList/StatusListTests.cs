using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Jose;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.StatusList;

/// <summary>
/// The Token Status List end to end on real Kestrel (draft-ietf-oauth-status-list): tokens reference their tenant's
/// list, the list token's shape and caching headers, a revocation through the admin API flips the token's bit, and the
/// endpoint's answers to bad input.
/// </summary>
public sealed class StatusListTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private const string AcmeList = BrokerTestHost.Issuer + "/statuslists/v1/acme";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exchange_TokenCarriesItsIndexAndTheTenantsListUri()
    {
        // Act
        var first = await ExchangeAsync();
        var second = await ExchangeAsync();

        // Assert: §6.2 status.status_list, exactly idx and uri; each token its own index.
        var (firstIndex, firstUri) = StatusOf(first);
        var (secondIndex, secondUri) = StatusOf(second);
        Assert.Equal(AcmeList, firstUri);
        Assert.Equal(AcmeList, secondUri);
        Assert.NotEqual(firstIndex, secondIndex);
        Assert.InRange(firstIndex, 0, (1 << 20) - 1);
    }

    [Fact]
    public async Task GetList_IsASignedStatusListJwt_WithTheDraftsClaims_AndCachingHeaders()
    {
        // Arrange
        var token = await ExchangeAsync();
        var jwks = await fixture.Host.Client.GetStringAsync("/.well-known/jwks.json", Ct);

        // Act
        using var response = await GetListAsync("acme");
        var body = await response.Content.ReadAsStringAsync(Ct);

        // Assert: HTTP (§8.2, and caching for CDNs and pollers alike).
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/statuslist+jwt", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.Public);
        Assert.Equal(TimeSpan.FromSeconds(30), response.Headers.CacheControl?.MaxAge);
        Assert.NotNull(response.Headers.ETag);

        // Assert: the JWS verifies with an independent JOSE library against the broker's own JWKS (§5.1, §11.3).
        var header = JWT.Headers(body);
        var key = JwkSet.FromJson(jwks, JWT.DefaultSettings.JsonMapper).Keys.Single(k => k.KeyId == (string)header["kid"]);
        var claims = JWT.Decode<Dictionary<string, object>>(body, key, JwsAlgorithm.ES256);
        Assert.Equal("statuslist+jwt", header["typ"]);
        Assert.Equal("ES256", header["alg"]);
        Assert.Equal(StatusOf(token).Uri, claims["sub"]);
        Assert.Equal(BrokerTestHost.Issuer, claims["iss"]);
        var iat = Convert.ToInt64(claims["iat"]);
        Assert.InRange(iat, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        Assert.Equal(iat + 300, Convert.ToInt64(claims["exp"]));
        Assert.Equal(30L, Convert.ToInt64(claims["ttl"]));

        // Assert: status_list {bits: 1, lst}: the whole capacity, ZLIB (RFC 1950), base64url.
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(body.Split('.')[1]));
        var list = payload.RootElement.GetProperty("status_list");
        Assert.Equal(["bits", "lst"], list.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, list.GetProperty("bits").GetInt32());
        var bits = Inflate(list.GetProperty("lst").GetString()!);
        Assert.Equal(1 << 17, bits.Length);
        Assert.False(IsSet(bits, StatusOf(token).Index));
    }

    [Fact]
    public async Task AdminRevokesAGrant_ItsBitIsSetInTheList_OthersStayClear()
    {
        // Arrange
        var revoked = await ExchangeAsync();
        var kept = await ExchangeAsync();
        var grantId = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(revoked).Id;

        // Act
        var (status, _) = await DerivedGrantRevocationTests.AdminRevokeAsync(fixture, grantId, "leaked");

        // Assert: within the replica's rebuild interval (a second), the list says INVALID (1) for it alone.
        Assert.Equal(HttpStatusCode.OK, status);
        byte[] bits = [];
        await Eventually.HoldsAsync(async () => IsSet(bits = await ReadListAsync("acme"), StatusOf(revoked).Index), TimeSpan.FromSeconds(10), Ct);
        Assert.False(IsSet(bits, StatusOf(kept).Index));
    }

    [Fact]
    public async Task AdminRevokesAGrant_AnIndependentDecoderReadsItsBitAsInvalid()
    {
        // Arrange: @sd-jwt/jwt-status-list (npm), run by node: another implementation of the bit order and encoding.
        var revoked = await ExchangeAsync();
        var kept = await ExchangeAsync();
        var (status, _) = await DerivedGrantRevocationTests.AdminRevokeAsync(fixture, new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(revoked).Id, "leaked");
        Assert.Equal(HttpStatusCode.OK, status);
        await Eventually.HoldsAsync(async () => IsSet(await ReadListAsync("acme"), StatusOf(revoked).Index), TimeSpan.FromSeconds(10), Ct);
        using var response = await GetListAsync("acme");
        var jwt = await response.Content.ReadAsStringAsync(Ct);

        // Act
        var decoded = await StatusListNode.DecodeAsync(jwt, [StatusOf(revoked).Index, StatusOf(kept).Index], Ct);

        // Assert
        Assert.Equal(1 << 20, decoded.Size);
        Assert.Equal(1, decoded.Statuses[StatusOf(revoked).Index]);
        Assert.Equal(0, decoded.Statuses[StatusOf(kept).Index]);
    }

    [Fact]
    public async Task GetList_IfNoneMatchTheCurrentTag_NotModified()
    {
        // Arrange
        using var first = await GetListAsync("acme");
        var etag = first.Headers.ETag!;

        // Act: the same build is served for a second; asked again with its tag, the answer is 304 unless it was rebuilt.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/statuslists/v1/acme");
        request.Headers.IfNoneMatch.Add(etag);
        using var second = await fixture.Host.Client.SendAsync(request, Ct);

        // Assert
        if (second.StatusCode == HttpStatusCode.NotModified)
        {
            Assert.Equal(etag, second.Headers.ETag);
            Assert.Empty(await second.Content.ReadAsByteArrayAsync(Ct));
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.NotEqual(etag, second.Headers.ETag);
        }

        using var wildcard = new HttpRequestMessage(HttpMethod.Get, "/statuslists/v1/acme");
        wildcard.Headers.TryAddWithoutValidation("If-None-Match", "*");
        using var any = await fixture.Host.Client.SendAsync(wildcard, Ct);
        Assert.Equal(HttpStatusCode.NotModified, any.StatusCode);
    }

    [Fact]
    public async Task GetList_EachTenantItsOwn_SubNamesIt()
    {
        // Act
        using var globex = await GetListAsync("globex");
        var body = await globex.Content.ReadAsStringAsync(Ct);

        // Assert
        Assert.Equal(HttpStatusCode.OK, globex.StatusCode);
        Assert.Equal(BrokerTestHost.Issuer + "/statuslists/v1/globex", JWT.Payload<Dictionary<string, object>>(body)["sub"]);
    }

    [Theory]
    [InlineData("unknown-tenant")]
    [InlineData("ACME")]
    [InlineData("acme%20")]
    [InlineData("ac%2Fme")]
    [InlineData("%C3%A9cole")]
    [InlineData("a*b")]
    [InlineData("{acme}")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task GetList_UnknownOrMalformedTenant_404FromTheErrorCatalog(string tenant)
    {
        // Act
        using var response = await fixture.Host.Client.GetAsync("/statuslists/v1/" + tenant, Ct);

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("not_found", json.RootElement.GetProperty("error").GetString());
        Assert.Equal("No status list is published at this URL.", json.RootElement.GetProperty("error_description").GetString());
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    [InlineData("OPTIONS")]
    [InlineData("BREW")]
    public async Task OtherMethods_405WithAllowGet(string method)
    {
        // Act
        using var request = new HttpRequestMessage(new HttpMethod(method), "/statuslists/v1/acme") { Content = new StringContent("x") };
        using var response = await fixture.Host.Client.SendAsync(request, Ct);

        // Assert
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET"], response.Content.Headers.Allow);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("invalid_request", json.RootElement.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("application/statuslist+cwt", HttpStatusCode.NotAcceptable)]
    [InlineData("application/statuslist+jwt;q=0", HttpStatusCode.NotAcceptable)]
    [InlineData("text/html", HttpStatusCode.NotAcceptable)]
    [InlineData("application/statuslist+jwt", HttpStatusCode.OK)]
    [InlineData("application/statuslist+cwt, application/statuslist+jwt;q=0.5", HttpStatusCode.OK)]
    [InlineData("*/*", HttpStatusCode.OK)]
    public async Task GetList_Accept_OnlyTheJwtForm(string accept, HttpStatusCode expected)
    {
        // Act
        using var request = new HttpRequestMessage(HttpMethod.Get, "/statuslists/v1/acme");
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await fixture.Host.Client.SendAsync(request, Ct);

        // Assert
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Metadata_AdvertisesTheListsBase()
    {
        // Act
        using var metadata = JsonDocument.Parse(await fixture.Host.Client.GetStringAsync("/.well-known/oauth-authorization-server", Ct));

        // Assert: the list of tenant T is at this URL + "/" + T.
        Assert.Equal(BrokerTestHost.Issuer + "/statuslists/v1", metadata.RootElement.GetProperty("status_list_endpoint").GetString());
    }

    private async Task<string> ExchangeAsync()
    {
        var response = await fixture.ExchangeAsync(ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    private async Task<HttpResponseMessage> GetListAsync(string tenant)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/statuslists/v1/" + tenant);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/statuslist+jwt"));
        return await fixture.Host.Client.SendAsync(request, Ct);
    }

    private async Task<byte[]> ReadListAsync(string tenant)
    {
        using var response = await GetListAsync(tenant);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var jwt = await response.Content.ReadAsStringAsync(Ct);
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.Split('.')[1]));
        return Inflate(payload.RootElement.GetProperty("status_list").GetProperty("lst").GetString()!);
    }

    internal static (int Index, string Uri) StatusOf(string token)
    {
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.Split('.')[1]));
        var reference = payload.RootElement.GetProperty("status").GetProperty("status_list");
        Assert.Equal(["idx", "uri"], reference.EnumerateObject().Select(p => p.Name));
        return (reference.GetProperty("idx").GetInt32(), reference.GetProperty("uri").GetString()!);
    }

    internal static byte[] Inflate(string lst)
    {
        using var input = new MemoryStream(Base64UrlEncoder.DecodeBytes(lst));
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        zlib.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>§4.1, written out independently of the broker: bit <c>index % 8</c>, least significant first, of byte <c>index / 8</c>.</summary>
    internal static bool IsSet(byte[] list, int index) => (list[index / 8] & (1 << (index % 8))) != 0;
}
