// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography.X509Certificates;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Broker.Spiffe.Tests.TestSupport;
using Broker.Spiffe.WorkloadApi;
using Broker.Spiffe.WorkloadApi.Protos;
using Broker.Testing.Pki;
using Broker.Testing.WorkloadApi;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Broker.Spiffe.Tests.WorkloadApi;

/// <summary>The client against the fake agent over a real Unix socket.</summary>
public sealed class WorkloadApiClientTests : IAsyncLifetime
{
    private static readonly TrustDomain Td = TrustDomain.Parse("example.org");
    private FakeWorkloadApiServer _server = null!;
    private WorkloadApiClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await FakeWorkloadApiServer.StartAsync();
        _client = CreateClient(_server);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    internal static WorkloadApiClient CreateClient(FakeWorkloadApiServer server) => new(new WorkloadApiClientOptions
    {
        Address = server.Address,
        // Fast retries keep the suite quick; the default strategy is covered by its own test.
        BackoffStrategy = new LinearBackoffStrategy { Step = TimeSpan.FromMilliseconds(20), Max = TimeSpan.FromMilliseconds(200) },
    });

    private FakeWorkloadApiState State => _server.State;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FetchX509Context_ReturnsSvidWithKeyAndOwnBundle()
    {
        // Act
        var context = await _client.FetchX509ContextAsync(Ct);

        // Assert
        var svid = context.DefaultSvid;
        Assert.Equal(SpiffeId.Parse("spiffe://example.org/workload"), svid.Id);
        Assert.True(svid.Certificate.HasPrivateKey);
        Assert.True(context.Bundles.TryGetX509Bundle(Td, out var bundle));
        Assert.Equal(State.Roots[0].RawData, Assert.Single(bundle.Authorities).RawData);
        Assert.Equal(svid.Id, X509SvidVerifier.Verify(svid.Certificates, context.Bundles));
    }

    [Fact]
    public async Task FetchX509Context_IntermediateFederationAndDuplicateHints()
    {
        // Arrange
        await using var server = await FakeWorkloadApiServer.StartAsync(new FakeWorkloadApiState(useIntermediate: true));
        await using var client = CreateClient(server);
        var otherRoot = TestPki.CreateRoot("other.org");
        server.State.SetFederatedBundle("other.org", [otherRoot.Certificate]);
        server.State.SetIdentities(
            ("spiffe://example.org/a", "internal"),
            ("spiffe://example.org/b", "external"),
            ("spiffe://example.org/c", "internal"));

        // Act
        var context = await client.FetchX509ContextAsync(Ct);

        // Assert: leaf + intermediate; the duplicate hint keeps the first SVID (spec §1).
        Assert.Equal(["spiffe://example.org/a", "spiffe://example.org/b"], context.Svids.Select(s => s.Id.ToString()));
        Assert.Equal("internal", context.DefaultSvid.Hint);
        Assert.Equal(2, context.DefaultSvid.Certificates.Count);
        Assert.True(context.Bundles.TryGetX509Bundle(TrustDomain.Parse("other.org"), out var other));
        Assert.Equal(otherRoot.Certificate.RawData, Assert.Single(other.Authorities).RawData);
        Assert.Equal(context.DefaultSvid.Id, X509SvidVerifier.Verify(context.DefaultSvid.Certificates, context.Bundles));
    }

    [Fact]
    public async Task WatchX509Context_PushesRotationAndCaRotationAsCompleteMessages()
    {
        // Arrange
        var watcher = new RecordingWatcher<X509Context>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var watch = _client.WatchX509ContextAsync(watcher, stop.Token);
        var first = await watcher.NextUpdateAsync();

        // Act + Assert: SVID rotation.
        State.RotateX509Svids();
        var rotated = await watcher.NextUpdateAsync();
        Assert.NotEqual(first.DefaultSvid.Certificate.SerialNumber, rotated.DefaultSvid.Certificate.SerialNumber);

        // CA rotation, step 1: both roots trusted, leaf from the new one.
        State.AddRootAndSwitch();
        var both = await watcher.NextUpdateAsync();
        Assert.True(both.Bundles.TryGetX509Bundle(Td, out var bundle));
        Assert.Equal(2, bundle.Authorities.Count);
        X509SvidVerifier.Verify(both.DefaultSvid.Certificates, both.Bundles);

        // Step 2: the old root is redacted from the next complete message.
        State.DropOldRoots();
        var dropped = await watcher.NextUpdateAsync();
        Assert.True(dropped.Bundles.TryGetX509Bundle(Td, out bundle));
        Assert.Equal(State.Roots[^1].RawData, Assert.Single(bundle.Authorities).RawData);
        Assert.Throws<X509SvidValidationException>(() => X509SvidVerifier.Verify(first.DefaultSvid.Certificates, dropped.Bundles));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watch);
    }

    [Fact]
    public async Task WatchX509Context_AutomaticRotationAtHalfLifetime_IsPushed()
    {
        // Arrange: SPIRE-like rotation driven by a fake clock.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        State.TimeProvider = clock;
        State.StartAutoRotation();
        var watcher = new RecordingWatcher<X509Context>();
        _ = _client.WatchX509ContextAsync(watcher, Ct);
        var first = await watcher.NextUpdateAsync();

        // Act: 55% of the lifetime is past the latest possible rotation point (50% + 10% of 50%).
        clock.Advance(State.LeafTemplate.Lifetime * 0.55);

        // Assert
        var rotated = await watcher.NextUpdateAsync();
        Assert.NotEqual(first.DefaultSvid.Certificate.SerialNumber, rotated.DefaultSvid.Certificate.SerialNumber);
    }

    [Fact]
    public async Task FetchX509Context_RsaLeaf_ParsesAndVerifies()
    {
        State.LeafTemplate = new LeafSpec { Rsa = true };
        State.RotateX509Svids();

        var context = await _client.FetchX509ContextAsync(Ct);

        Assert.NotNull(context.DefaultSvid.Certificate.GetRSAPrivateKey());
        Assert.Equal(context.DefaultSvid.Id, X509SvidVerifier.Verify(context.DefaultSvid.Certificates, context.Bundles));
    }

    [Fact]
    public async Task WatchX509Context_FederatedBundleRemoved_IsDropped()
    {
        var watcher = new RecordingWatcher<X509Context>();
        State.SetFederatedBundle("other.org", [TestPki.CreateRoot("other.org").Certificate]);
        _ = _client.WatchX509ContextAsync(watcher, Ct);
        var first = await watcher.NextUpdateAsync();
        Assert.True(first.Bundles.TryGetX509Bundle(TrustDomain.Parse("other.org"), out _));

        State.RemoveFederatedBundle("other.org");

        var next = await watcher.NextUpdateAsync();
        Assert.False(next.Bundles.TryGetX509Bundle(TrustDomain.Parse("other.org"), out _));
    }

    [Fact]
    public async Task WatchX509Context_AsyncEnumerable_YieldsUpdates()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        stop.CancelAfter(RecordingWatcher<X509Context>.Timeout);
        var serials = new List<string>();
        await foreach (var context in _client.WatchX509ContextAsync(stop.Token))
        {
            serials.Add(context.DefaultSvid.Certificate.SerialNumber);
            if (serials.Count == 1)
            {
                State.RotateX509Svids();
            }
            else
            {
                break;
            }
        }

        Assert.Equal(2, serials.Distinct().Count());
    }

    public static TheoryData<string> UnusableMessages() => ["empty svids", "bad DER", "key of another leaf", "spiffe_id differs", "bad bundle key", "hint too long"];

    [Theory]
    [MemberData(nameof(UnusableMessages))]
    public async Task WatchX509Context_UnusableMessage_IsReportedAndDiscarded(string caseName)
    {
        // Arrange
        var watcher = new RecordingWatcher<X509Context>();
        _ = _client.WatchX509ContextAsync(watcher, Ct);
        var good = await watcher.NextUpdateAsync();
        var leaf = TestPki.CreateLeaf(TestPki.CreateRoot("example.org"), "spiffe://example.org/workload");
        var other = TestPki.CreateLeaf(TestPki.CreateRoot("example.org"), "spiffe://example.org/workload");
        var svid = new X509SVID
        {
            SpiffeId = "spiffe://example.org/workload",
            X509Svid = ByteString.CopyFrom(leaf.Certificate.RawData),
            X509SvidKey = ByteString.CopyFrom(leaf.Pkcs8Key),
        };
        var bad = new X509SVIDResponse();
        switch (caseName)
        {
            case "empty svids":
                break;
            case "bad DER":
                svid.X509Svid = ByteString.CopyFrom([0x30, 0x82, 0x01]);
                bad.Svids.Add(svid);
                break;
            case "key of another leaf":
                svid.X509SvidKey = ByteString.CopyFrom(other.Pkcs8Key);
                bad.Svids.Add(svid);
                break;
            case "spiffe_id differs":
                svid.SpiffeId = "spiffe://example.org/someone-else";
                bad.Svids.Add(svid);
                break;
            case "hint too long":
                svid.Hint = new string('h', 1025);
                bad.Svids.Add(svid);
                break;
            default:
                bad.Svids.Add(svid);
                bad.FederatedBundles["Not A Trust Domain"] = ByteString.Empty;
                break;
        }

        // Act
        State.SetRawX509Response(bad);

        // Assert: an error, no update; the previous state stands until a good message arrives.
        var error = await watcher.NextErrorAsync();
        Assert.StartsWith("workloadapi: FetchX509SVID returned an unusable message", error.Message, StringComparison.Ordinal);
        Assert.False(watcher.TryTakeUpdate(out _));
        State.SetRawX509Response(null);
        var recovered = await watcher.NextUpdateAsync();
        Assert.Equal(good.DefaultSvid.Id, recovered.DefaultSvid.Id);
    }

    [Fact]
    public async Task WatchX509Context_UnavailableThenOk_RetriesWithBackoff()
    {
        // Arrange
        State.FailNextCalls(StatusCode.Unavailable, 3);
        var watcher = new RecordingWatcher<X509Context>();

        // Act
        _ = _client.WatchX509ContextAsync(watcher, Ct);

        // Assert
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(StatusCode.Unavailable, (await watcher.NextErrorAsync()).StatusCode);
        }

        await watcher.NextUpdateAsync();
        Assert.Equal(4, State.CallCount("FetchX509SVID"));
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.Unimplemented)]
    public async Task WatchX509Context_NonRetryableStatus_StopsWithoutRetry(StatusCode code)
    {
        State.FailNextCalls(code, 1);
        var watcher = new RecordingWatcher<X509Context>();

        var ex = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.WatchX509ContextAsync(watcher, Ct));

        Assert.Equal(code, ex.StatusCode);
        Assert.False(ex.IsRetryable);
        Assert.Equal(1, State.CallCount("FetchX509SVID"));
        Assert.Equal(code, (await watcher.NextErrorAsync()).StatusCode);
    }

    [Fact]
    public async Task WatchX509Context_IdentityRevokedMidStream_ReportsPermissionDeniedAndRecovers()
    {
        var watcher = new RecordingWatcher<X509Context>();
        _ = _client.WatchX509ContextAsync(watcher, Ct);
        await watcher.NextUpdateAsync();

        State.SetMode(CallerMode.NoIdentity);
        var error = await watcher.NextErrorAsync();
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.True(error.IsRetryable);

        State.SetMode(CallerMode.Identity);
        await watcher.NextUpdateAsync();
    }

    [Theory]
    [InlineData(CallerMode.NoIdentity, StatusCode.PermissionDenied)]
    [InlineData(CallerMode.AttestationFailure, StatusCode.Unavailable)]
    public async Task FetchX509Context_CallerState_MapsToStatus(CallerMode mode, StatusCode expected)
    {
        State.SetMode(mode);
        var ex = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.FetchX509ContextAsync(Ct));
        Assert.Equal(expected, ex.StatusCode);
        Assert.StartsWith("workloadapi: FetchX509SVID failed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_WithoutSecurityHeader_IsRejectedWithInvalidArgument()
    {
        // A raw client that omits workload.spiffe.io: the server must refuse (spec §1).
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                    await socket.ConnectAsync(_server.Address.EndPoint, ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                },
            },
        });
        var raw = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(channel);

        var ex = await Assert.ThrowsAsync<RpcException>(async () => await raw.FetchJWTSVIDAsync(new JWTSVIDRequest { Audience = { "a" } }, cancellationToken: Ct));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);

        var headers = new Metadata { { "workload.spiffe.io", "false" } };
        ex = await Assert.ThrowsAsync<RpcException>(async () => await raw.FetchJWTSVIDAsync(new JWTSVIDRequest { Audience = { "a" } }, headers, cancellationToken: Ct));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }

    [Fact]
    public async Task WitSvidRpc_IsUnimplemented()
    {
        // The optional WIT-SVID profile is not served, as with SPIRE (spec §1).
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                    await socket.ConnectAsync(_server.Address.EndPoint, ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                },
            },
        });
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.ServerStreaming, "SpiffeWorkloadAPI", "FetchWITSVID", bytes, bytes);
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(method, null, new CallOptions(new Metadata { { "workload.spiffe.io", "true" } }, cancellationToken: Ct), []);

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct));
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task WatchX509Context_AgentRestart_Reconnects()
    {
        // Arrange
        var watcher = new RecordingWatcher<X509Context>();
        _ = _client.WatchX509ContextAsync(watcher, Ct);
        await watcher.NextUpdateAsync();

        // Act: kill the streams and the socket; while it is down, calls fail and are retried.
        await _server.StopAsync();
        await watcher.NextErrorAsync();
        State.RotateX509Svids();
        await _server.ListenAsync();

        // Assert: the reconnected stream delivers the current (rotated) state.
        var after = await watcher.NextUpdateAsync();
        while (watcher.TryTakeUpdate(out var newer))
        {
            after = newer!;
        }

        Assert.True(State.CallCount("FetchX509SVID") >= 2);
        Assert.Equal(SpiffeId.Parse("spiffe://example.org/workload"), after.DefaultSvid.Id);
    }

    [Fact]
    public async Task Fetch_NoAgentListening_FailsUnavailable()
    {
        await using var client = new WorkloadApiClient(new WorkloadApiClientOptions { Address = WorkloadApiAddress.Parse("unix:///tmp/no-such-agent-" + Guid.NewGuid().ToString("N")[..8] + ".sock") });
        var ex = await Assert.ThrowsAsync<WorkloadApiException>(() => client.FetchX509ContextAsync(Ct));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task FetchX509Bundles_And_Watch()
    {
        var bundles = await _client.FetchX509BundlesAsync(Ct);
        Assert.True(bundles.TryGetX509Bundle(Td, out _));

        var watcher = new RecordingWatcher<X509BundleSet>();
        _ = _client.WatchX509BundlesAsync(watcher, Ct);
        await watcher.NextUpdateAsync();
        State.SetFederatedBundle("other.org", [TestPki.CreateRoot("other.org").Certificate]);
        var next = await watcher.NextUpdateAsync();
        Assert.True(next.TryGetX509Bundle(TrustDomain.Parse("other.org"), out _));
    }

    [Fact]
    public async Task FetchJwtSvid_ValidatesLocallyWithFetchedBundles_AndIsCachedByTheAgent()
    {
        // Act
        var svid = await _client.FetchJwtSvidAsync("broker", cancellationToken: Ct);
        var again = await _client.FetchJwtSvidAsync("broker", cancellationToken: Ct);
        var bundles = await _client.FetchJwtBundlesAsync(Ct);

        // Assert
        Assert.Equal(SpiffeId.Parse("spiffe://example.org/workload"), svid.Id);
        Assert.Equal(["broker"], svid.Audience);
        Assert.Equal(svid.Marshal(), again.Marshal());
        var result = JwtSvid.Validate(svid.Marshal(), bundles, ["broker"]);
        Assert.True(result.IsValid, (result as JwtSvidValidationFailure)?.Message);
    }

    [Fact]
    public async Task FetchJwtSvid_ExtraAudiencesAndSubject()
    {
        State.SetIdentities(("spiffe://example.org/a", ""), ("spiffe://example.org/b", "b-hint"));

        var svid = await _client.FetchJwtSvidAsync("one", ["two"], SpiffeId.Parse("spiffe://example.org/b"), Ct);
        var all = await _client.FetchJwtSvidsAsync("one", cancellationToken: Ct);

        Assert.Equal("spiffe://example.org/b", svid.Id.ToString());
        Assert.Equal("b-hint", svid.Hint);
        Assert.Equal(["one", "two"], svid.Audience);
        Assert.Equal(2, all.Count);
    }

    [Fact]
    public async Task FetchJwtSvid_Errors_MapToStatus()
    {
        var ex = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.FetchJwtSvidAsync("a", subject: SpiffeId.Parse("spiffe://example.org/not-mine"), cancellationToken: Ct));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);

        State.SetMode(CallerMode.AttestationFailure);
        ex = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.FetchJwtSvidAsync("a", cancellationToken: Ct));
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task ValidateJwtSvid_ServerVerifiesSignatureAndAudience()
    {
        var token = (await _client.FetchJwtSvidAsync("broker", cancellationToken: Ct)).Marshal();

        var ok = await _client.ValidateJwtSvidAsync(token, "broker", Ct);
        Assert.Equal("spiffe://example.org/workload", ok.Id.ToString());

        var wrongAudience = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.ValidateJwtSvidAsync(token, "someone-else", Ct));
        Assert.Equal(StatusCode.InvalidArgument, wrongAudience.StatusCode);

        var parts = token.Split('.');
        var forged = parts[0] + "." + parts[1] + "." + TestKeys.Sign(new Dictionary<string, object> { ["alg"] = "ES256" }, new Dictionary<string, object>(), System.Security.Cryptography.ECDsa.Create(), "ES256").Split('.')[2];
        var badSignature = await Assert.ThrowsAsync<WorkloadApiException>(() => _client.ValidateJwtSvidAsync(forged, "broker", Ct));
        Assert.Equal(StatusCode.InvalidArgument, badSignature.StatusCode);
    }

    [Fact]
    public async Task WatchJwtBundles_PushesKeyRotation()
    {
        var watcher = new RecordingWatcher<JwtBundleSet>();
        _ = _client.WatchJwtBundlesAsync(watcher, Ct);
        var first = await watcher.NextUpdateAsync();
        Assert.True(first.TryGetJwtBundle(Td, out var bundle));
        Assert.Single(bundle.Authorities);

        State.RotateJwtKey();

        var next = await watcher.NextUpdateAsync();
        Assert.True(next.TryGetJwtBundle(Td, out bundle));
        Assert.Equal(2, bundle.Authorities.Count);
        Assert.True(bundle.TryGetAuthority(State.CurrentJwtKeyId, out _));
    }

    [Fact]
    public void Constructor_NoAddressAndNoEnvironment_Throws()
    {
        if (Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable) is not null)
        {
            return;
        }

        Assert.Throws<InvalidOperationException>(() => new WorkloadApiClient());
    }
}
