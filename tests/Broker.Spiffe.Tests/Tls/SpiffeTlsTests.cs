// Broker.Spiffe — SPIFFE for .NET.

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Tests.TestSupport;
using Broker.Spiffe.Tests.WorkloadApi;
using Broker.Spiffe.Tls;
using Broker.Spiffe.WorkloadApi;
using Broker.Testing.WorkloadApi;

namespace Broker.Spiffe.Tests.Tls;

/// <summary>Mutual TLS between two X509Sources over real loopback sockets.</summary>
public sealed class SpiffeTlsTests : IAsyncLifetime
{
    private static readonly SpiffeId ServerId = SpiffeId.Parse("spiffe://example.org/server");
    private static readonly SpiffeId ClientId = SpiffeId.Parse("spiffe://example.org/client");
    private FakeWorkloadApiServer _agent = null!;
    private WorkloadApiClient _api = null!;
    private X509Source _server = null!;
    private X509Source _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _agent = await FakeWorkloadApiServer.StartAsync();
        _agent.State.SetIdentities((ServerId.ToString(), "server"), (ClientId.ToString(), "client"));
        _api = WorkloadApiClientTests.CreateClient(_agent);
        _server = await X509Source.CreateAsync(new X509SourceOptions { Client = _api, SvidPicker = s => s.First(x => x.Hint == "server") }, Ct);
        _client = await X509Source.CreateAsync(new X509SourceOptions { Client = _api, SvidPicker = s => s.First(x => x.Hint == "client") }, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _api.DisposeAsync();
        await _agent.DisposeAsync();
    }

    /// <summary>Runs one TLS handshake over a real loopback TCP connection and exchanges a byte.</summary>
    private static async Task<(Exception? Server, Exception? Client, X509Certificate? ServerSaw)> HandshakeAsync(SslServerAuthenticationOptions serverOptions, SslClientAuthenticationOptions clientOptions)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(RecordingWatcher<object>.Timeout);

        X509Certificate? serverSaw = null;
        var serverTask = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(timeout.Token);
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await ssl.AuthenticateAsServerAsync(serverOptions, timeout.Token);
            serverSaw = ssl.RemoteCertificate;
            var buffer = new byte[1];
            await ssl.ReadExactlyAsync(buffer, timeout.Token);
            await ssl.WriteAsync(buffer, timeout.Token);
        });
        var clientTask = Task.Run(async () =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            await using var ssl = new SslStream(tcp.GetStream());
            clientOptions.TargetHost = "workload";
            await ssl.AuthenticateAsClientAsync(clientOptions, timeout.Token);
            await ssl.WriteAsync(new byte[] { 42 }, timeout.Token);
            var buffer = new byte[1];
            await ssl.ReadExactlyAsync(buffer, timeout.Token);
            Assert.Equal(42, buffer[0]);
        });

        Exception? serverError = null, clientError = null;
        try
        {
            await serverTask;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            serverError = ex;
        }

        try
        {
            await clientTask;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            clientError = ex;
        }

        return (serverError, clientError, serverSaw);
    }

    [Fact]
    public async Task Mtls_BothSidesVerifyAndAuthorize()
    {
        // Act
        var (serverError, clientError, serverSaw) = await HandshakeAsync(
            SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Id(ClientId)),
            SpiffeTls.CreateMtlsClientOptions(_client, SpiffeIdAuthorizers.Id(ServerId)));

        // Assert
        Assert.Null(serverError);
        Assert.Null(clientError);
        Assert.True(SpiffeTls.TryVerifyPeer(serverSaw, null, _server, out var peer));
        Assert.Equal(ClientId, peer);
    }

    [Fact]
    public async Task Mtls_ClientRejectsUnexpectedServerId()
    {
        var (_, clientError, _) = await HandshakeAsync(
            SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Any),
            SpiffeTls.CreateMtlsClientOptions(_client, SpiffeIdAuthorizers.Id(SpiffeId.Parse("spiffe://example.org/someone-else"))));

        Assert.IsType<AuthenticationException>(clientError);
    }

    [Fact]
    public async Task Mtls_ServerRejectsClientOutsideAllowedTrustDomain()
    {
        var (serverError, _, _) = await HandshakeAsync(
            SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.MemberOf(TrustDomain.Parse("other.org"))),
            SpiffeTls.CreateMtlsClientOptions(_client, SpiffeIdAuthorizers.Any));

        Assert.IsType<AuthenticationException>(serverError);
    }

    [Fact]
    public async Task Mtls_ServerRejectsClientFromUntrustedCa()
    {
        // Arrange: a client whose SVID for the same trust domain comes from a different (unknown) CA.
        await using var otherAgent = await FakeWorkloadApiServer.StartAsync();
        await using var otherApi = WorkloadApiClientTests.CreateClient(otherAgent);
        await using var impostor = await X509Source.CreateAsync(new X509SourceOptions { Client = otherApi }, Ct);

        // Act
        var (serverError, _, _) = await HandshakeAsync(
            SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Any),
            SpiffeTls.CreateMtlsClientOptions(impostor, SpiffeIdAuthorizers.Any));

        // Assert
        Assert.IsType<AuthenticationException>(serverError);
    }

    [Fact]
    public async Task TlsClient_WithBundlesOnly_VerifiesServer_AndServerRequiresClientCertificate()
    {
        var (serverError, _, _) = await HandshakeAsync(
            SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Any),
            SpiffeTls.CreateTlsClientOptions(_client, SpiffeIdAuthorizers.Id(ServerId)));

        // No client certificate: the mTLS server refuses.
        Assert.NotNull(serverError);
    }

    [Fact]
    public async Task Options_AfterRotation_PresentTheNewSvid()
    {
        var before = SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Any).ServerCertificateContext!.TargetCertificate.SerialNumber;
        var updated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Updated += (_, _) => updated.TrySetResult();

        _agent.State.RotateX509Svids();
        await updated.Task.WaitAsync(RecordingWatcher<object>.Timeout, Ct);

        var after = SpiffeTls.CreateMtlsServerOptions(_server, SpiffeIdAuthorizers.Any).ServerCertificateContext!.TargetCertificate.SerialNumber;
        Assert.NotEqual(before, after);
    }
}
