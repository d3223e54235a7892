using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Broker.Validation.Tests;

/// <summary>RFC 8705: a certificate-bound token is honoured only over TLS with that client certificate.</summary>
[Collection(BrokerTests.Name)]
public sealed class CertificateBindingTests(BrokerFixture fixture)
{
    private TestBroker Broker => fixture.Broker;

    [Fact]
    public async Task BoundToken_WithItsCertificate_Accepted()
    {
        // Arrange
        using var serverCertificate = Certificate("CN=127.0.0.1");
        using var agent = Certificate("CN=agent");
        await using var server = await TestMcpServer.StartAsync(Broker, serverCertificate: serverCertificate);
        var token = Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["x5t#S256"] = Thumbprint(agent) });
        using var http = server.CreateHttpClient(clientCertificate: agent);
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = server.Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
        }, http);

        // Act
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: TestContext.Current.CancellationToken);
        var result = await client.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.NotEqual(true, result.IsError);
        using var caller = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal("spiffe://dev.localhost/agents/reader", caller.RootElement.GetProperty("subject").GetString());
        Assert.Equal(1, server.ToolRuns.Count);
    }

    [Theory]
    [InlineData("no client certificate")]
    [InlineData("another client certificate")]
    public async Task BoundToken_WithoutItsCertificate_401(string scenario)
    {
        // Arrange
        using var serverCertificate = Certificate("CN=127.0.0.1");
        using var agent = Certificate("CN=agent");
        using var thief = Certificate("CN=thief");
        await using var server = await TestMcpServer.StartAsync(Broker, serverCertificate: serverCertificate);
        var token = Broker.Sign(c => c["cnf"] = new Dictionary<string, string> { ["x5t#S256"] = Thumbprint(agent) });
        using var http = server.CreateHttpClient(token, scenario == "no client certificate" ? null : thief);

        // Act
        using var request = Rpc.Post(Rpc.ToolCall("read_file"));
        using var response = await http.SendAsync(request);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error_description=\"The token is bound to a client certificate that was not presented.\"", Rpc.Challenge(response), StringComparison.Ordinal);
        Assert.Equal(0, server.ToolRuns.Count);
    }

    [Fact]
    public async Task BearerToken_OverMutualTls_Accepted()
    {
        // Arrange: a certificate on the connection does not make an unbound token less valid.
        using var serverCertificate = Certificate("CN=127.0.0.1");
        using var agent = Certificate("CN=agent");
        await using var server = await TestMcpServer.StartAsync(Broker, serverCertificate: serverCertificate);
        using var http = server.CreateHttpClient(clientCertificate: agent);
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = server.Endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + await Broker.ExchangeAsync("files.read") },
        }, http);

        // Act
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: TestContext.Current.CancellationToken);
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

        // Assert
        Assert.Contains(tools, t => t.Name == "read_file");
    }

    private static string Thumbprint(X509Certificate2 certificate) => Base64UrlEncoder.Encode(SHA256.HashData(certificate.RawData));

    private static X509Certificate2 Certificate(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(sans.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
