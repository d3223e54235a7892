using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Grants;
using Broker.IntegrationTests.Infrastructure;
using Broker.Trust;
using Broker.Testing.Pki;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.IntegrationTests.Exchange;

/// <summary>
/// An X509-SVID presented as the TLS client certificate over real mutual TLS (RFC 8705): the
/// certificate is the subject, and the minted token is bound to it with <c>cnf.x5t#S256</c>.
/// </summary>
public sealed class MutualTlsExchangeTests : IAsyncLifetime
{
    private const string X509SvidType = "urn:broker:params:oauth:token-type:x509-svid";
    private readonly ExchangeFixture _fixture = new();
    private IssuedCertificate _root = null!;
    private IssuedCertificate _server = null!;
    private IssuedCertificate _reader = null!;

    public async ValueTask InitializeAsync()
    {
        _root = TestPki.CreateRoot("acme.test");
        _server = TestPki.CreateLeaf(_root, "spiffe://acme.test/broker");
        _reader = TestPki.CreateLeaf(_root, "spiffe://acme.test/agents/reader");
        var pfx = Path.Combine(_fixture.Directory.Path, "server.pfx");
        await File.WriteAllBytesAsync(pfx, _server.Certificate.Export(X509ContentType.Pkcs12, "test"));

        _fixture.Configure = s =>
        {
            s["Kestrel:Certificates:Default:Path"] = pfx;
            s["Kestrel:Certificates:Default:Password"] = "test";
            s.Configure<SpiffeAgentOptions>(o => o.RequestClientCertificates = true);
        };
        _fixture.Https = true;
        _fixture.BeforeStart = () =>
        {
            _fixture.Acme.X509Authorities.Add(_root.Certificate);
            _fixture.Acme.WriteBundle();
        };
        await _fixture.InitializeAsync();
    }

    public async ValueTask DisposeAsync() => await _fixture.DisposeAsync();

    private HttpClient Client(X509Certificate2? clientCertificate)
    {
        var serverHash = _server.Certificate.GetCertHash(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
                // Pin the broker's certificate: the test PKI is not in the machine's trust store.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(serverHash),
            },
        };
        return new HttpClient(handler) { BaseAddress = _fixture.Host.BaseAddress };
    }

    private static string Thumbprint(X509Certificate2 certificate) => Base64UrlEncoder.Encode(SHA256.HashData(certificate.RawData));

    private static Dictionary<string, string> Request(string thumbprint, string scope = "invoices.read", string resource = ExchangeFixture.InvoicesResource)
    {
        var form = ExchangeFixture.Request(thumbprint, scope, resource);
        form["subject_token_type"] = X509SvidType;
        return form;
    }

    private static async Task<ExchangeResponse> PostAsync(HttpClient client, Dictionary<string, string> form)
    {
        using var content = new FormUrlEncodedContent(form);
        using var response = await client.PostAsync("/oauth2/token", content);
        return await ExchangeResponse.ReadAsync(response);
    }

    [Fact]
    public async Task Exchange_X509SvidOverMutualTls_IssuesTokenBoundToTheCertificate()
    {
        using var client = Client(_reader.Certificate);
        var thumbprint = Thumbprint(_reader.Certificate);

        var response = await PostAsync(client, Request(thumbprint));

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var token = new JsonWebToken(response.AccessToken);
        Assert.Equal("spiffe://acme.test/agents/reader", token.Subject);
        Assert.Equal($$"""{"x5t#S256":"{{thumbprint}}"}""", JsonSerializer.Serialize(token.GetPayloadValue<JsonElement>("cnf")));
        var grant = await _fixture.Host.Services.GetRequiredService<IGrantStore>().FindAsync(token.Id, CancellationToken.None);
        Assert.Equal(thumbprint, grant!.Binding!.X509Thumbprint);

        using var metadata = JsonDocument.Parse(await client.GetStringAsync("/.well-known/oauth-authorization-server"));
        Assert.True(metadata.RootElement.GetProperty("tls_client_certificate_bound_access_tokens").GetBoolean());
        Assert.Contains(X509SvidType, metadata.RootElement.GetProperty("token_exchange_subject_token_types_supported").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Exchange_X509SvidOverMutualTls_WithADPoPProofToo_IsRefusedAsAmbiguous()
    {
        // Arrange: the certificate would bind the token (RFC 8705), and so would the proof (RFC 9449).
        using var client = Client(_reader.Certificate);
        var thumbprint = Thumbprint(_reader.Certificate);

        // Act
        var response = await DPoP.DPoPExchange.PostAsync(client, Request(thumbprint), DPoP.DPoPExchange.Proof(DPoP.DPoPExchange.NewKey()));
        var withoutProof = await PostAsync(client, Request(thumbprint));

        // Assert: a token has one cnf; the broker does not pick one silently. Without the proof, the certificate binds.
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (response.Answer.Status, response.Answer.Error));
        Assert.Contains(_fixture.Host.AuditTrail, e => e.Reason == "dpop.certificate_bound");
        Assert.Equal(HttpStatusCode.OK, withoutProof.Status);
        Assert.Equal($$"""{"x5t#S256":"{{thumbprint}}"}""", DPoP.DPoPExchange.Confirmation(withoutProof.AccessToken));
    }

    [Fact]
    public async Task Exchange_ProofOfPossessionCapability_IsGrantedOnlyToABoundToken()
    {
        using var client = Client(_reader.Certificate);

        var bound = await PostAsync(client, Request(Thumbprint(_reader.Certificate), "secrets.read", "https://mcp.acme.test/secrets"));
        var bearer = await PostAsync(client, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"), "secrets.read", "https://mcp.acme.test/secrets"));

        Assert.Equal(HttpStatusCode.OK, bound.Status);
        Assert.Equal("invalid_request", bearer.Error);
    }

    [Fact]
    public async Task ReExchange_OfABoundToken_NeedsTheSameCertificateAndStaysBound()
    {
        using var withCertificate = Client(_reader.Certificate);
        using var withoutCertificate = Client(null);
        var thumbprint = Thumbprint(_reader.Certificate);
        var original = await PostAsync(withCertificate, Request(thumbprint, "invoices.read"));
        Assert.Equal(HttpStatusCode.OK, original.Status);

        var stolen = await PostAsync(withoutCertificate, ExchangeFixture.Request(original.AccessToken, "invoices.read"));
        var narrowed = await PostAsync(withCertificate, ExchangeFixture.Request(original.AccessToken, "invoices.read"));

        Assert.Equal("invalid_grant", stolen.Error);
        Assert.Equal(HttpStatusCode.OK, narrowed.Status);
        Assert.Contains(thumbprint, JsonSerializer.Serialize(new JsonWebToken(narrowed.AccessToken).GetPayloadValue<JsonElement>("cnf")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exchange_JwtSubjectOverMutualTls_TheCertificateIsNeitherTheSubjectNorTheBinding()
    {
        // Arrange: the connection carries the reader's X509-SVID, the form another workload's JWT-SVID.
        using var client = Client(_reader.Certificate);
        var svid = _fixture.Acme.Svid("/agents/writer");

        // Act
        var response = await PostAsync(client, ExchangeFixture.Request(svid));

        // Assert: only the X509-SVID type makes the certificate the subject; a JWT subject stays a bearer token.
        Assert.Equal(HttpStatusCode.OK, response.Status);
        var token = new JsonWebToken(response.AccessToken);
        Assert.Equal("spiffe://acme.test/agents/writer", token.Subject);
        Assert.False(token.TryGetPayloadValue<JsonElement>("cnf", out _));
    }

    [Fact]
    public async Task Exchange_NoClientCertificate_IsRefused()
    {
        using var client = Client(null);

        var response = await PostAsync(client, Request(Thumbprint(_reader.Certificate)));

        Assert.Equal("invalid_grant", response.Error);
    }

    [Fact]
    public async Task Exchange_ThumbprintOfAnotherCertificate_IsRefused()
    {
        using var client = Client(_reader.Certificate);
        var other = TestPki.CreateLeaf(_root, "spiffe://acme.test/agents/admin");

        var response = await PostAsync(client, Request(Thumbprint(other.Certificate)));

        Assert.Equal("invalid_grant", response.Error);
    }

    [Theory]
    [InlineData("untrusted CA")]
    [InlineData("leaf is a CA")]
    [InlineData("expired")]
    [InlineData("foreign trust domain")]
    [InlineData("no digitalSignature")]
    public async Task Exchange_InvalidX509Svid_IsRefused(string variant)
    {
        var leaf = variant switch
        {
            "untrusted CA" => TestPki.CreateLeaf(TestPki.CreateRoot("acme.test"), "spiffe://acme.test/agents/reader"),
            "leaf is a CA" => TestPki.CreateLeaf(_root, "spiffe://acme.test/agents/reader", new LeafSpec { IsCa = true }),
            "expired" => TestPki.CreateLeaf(_root, "spiffe://acme.test/agents/reader", new LeafSpec { NotBefore = DateTimeOffset.UtcNow.AddHours(-3), Lifetime = TimeSpan.FromHours(1) }),
            "foreign trust domain" => TestPki.CreateLeaf(_root, "spiffe://globex.test/agents/reader"),
            _ => TestPki.CreateLeaf(_root, "spiffe://acme.test/agents/reader", new LeafSpec { KeyUsage = X509KeyUsageFlags.KeyEncipherment }),
        };
        using var client = Client(leaf.Certificate);
        var allowedBefore = _fixture.AllowedCount;

        var response = await PostAsync(client, Request(Thumbprint(leaf.Certificate)));

        Assert.Equal("invalid_grant", response.Error);
        Assert.Equal(allowedBefore, _fixture.AllowedCount);
    }
}
