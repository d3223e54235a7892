// Broker.Spiffe — SPIFFE for .NET.

using System.Threading.Channels;
using Broker.Spiffe.Svids;
using Broker.Spiffe.Tests.TestSupport;
using Broker.Spiffe.WorkloadApi;
using Broker.Testing.Pki;
using Broker.Testing.WorkloadApi;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Spiffe.Tests.WorkloadApi;

/// <summary>X509Source, JwtSource and BundleSource against the fake agent over a real Unix socket.</summary>
public sealed class SourceTests : IAsyncLifetime
{
    private static readonly TrustDomain Td = TrustDomain.Parse("example.org");
    private FakeWorkloadApiServer _server = null!;
    private WorkloadApiClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private FakeWorkloadApiState State => _server.State;

    public async ValueTask InitializeAsync()
    {
        _server = await FakeWorkloadApiServer.StartAsync();
        _client = WorkloadApiClientTests.CreateClient(_server);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Turns Updated events into something a test can await.</summary>
    private static ChannelReader<bool> Updates(Action<EventHandler> subscribe)
    {
        var channel = Channel.CreateUnbounded<bool>();
        subscribe((_, _) => channel.Writer.TryWrite(true));
        return channel.Reader;
    }

    private static async Task WaitAsync(ChannelReader<bool> updates) =>
        await updates.ReadAsync().AsTask().WaitAsync(RecordingWatcher<object>.Timeout);

    /// <summary>Polls a condition the server exposes no event for, failing after the generous shared timeout.</summary>
    private static async Task EventuallyAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(RecordingWatcher<object>.Timeout);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    [Fact]
    public async Task X509Source_ServesSvidAndBundles_AndFollowsRotation()
    {
        // Arrange
        await using var source = await X509Source.CreateAsync(new X509SourceOptions { Client = _client }, Ct);
        var updates = Updates(h => source.Updated += h);
        var first = source.GetX509Svid();

        // Act
        State.RotateX509Svids();
        await WaitAsync(updates);

        // Assert
        var second = source.GetX509Svid();
        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
        Assert.True(source.TryGetX509Bundle(Td, out var bundle));
        Assert.Equal(second.Id, X509SvidVerifier.Verify(second.Certificates, source));
        Assert.Single(bundle.Authorities);
    }

    [Fact]
    public async Task X509Source_PermissionDenied_DropsSvidUntilIdentityReturns()
    {
        await using var source = await X509Source.CreateAsync(new X509SourceOptions { Client = _client }, Ct);
        var updates = Updates(h => source.Updated += h);

        State.SetMode(CallerMode.NoIdentity);
        await WaitAsync(updates);
        Assert.False(source.TryGetX509Svid(out _));
        Assert.False(source.TryGetX509Bundle(Td, out _));
        var ex = Assert.Throws<InvalidOperationException>(source.GetX509Svid);
        Assert.StartsWith("x509source:", ex.Message, StringComparison.Ordinal);

        State.SetMode(CallerMode.Identity);
        await WaitAsync(updates);
        Assert.True(source.TryGetX509Svid(out _));
    }

    [Fact]
    public async Task X509Source_CreateAsync_WaitsThroughPermissionDenied()
    {
        // Arrange: no identity yet (SPIRE's eventual consistency after registration).
        State.SetMode(CallerMode.NoIdentity);
        var creating = X509Source.CreateAsync(new X509SourceOptions { Client = _client }, Ct);
        // Wait until the source has been refused and retried at least once.
        await EventuallyAsync(() => State.CallCount("FetchX509SVID") >= 2);

        Assert.False(creating.IsCompleted);

        // Act
        State.SetMode(CallerMode.Identity);

        // Assert
        await using var source = await creating.WaitAsync(RecordingWatcher<object>.Timeout, Ct);
        Assert.True(source.TryGetX509Svid(out _));
    }

    [Fact]
    public async Task BundleSource_CreateAsync_WaitsForSlowAgent()
    {
        State.HoldFirstMessages();
        var creating = BundleSource.CreateAsync(new WorkloadApiSourceOptions { Client = _client }, Ct);
        await EventuallyAsync(() => State.OpenStreams == 2);
        Assert.False(creating.IsCompleted);

        State.ReleaseFirstMessages();

        await using var source = await creating.WaitAsync(RecordingWatcher<object>.Timeout, Ct);
        Assert.True(source.TryGetJwtBundle(Td, out _));
    }

    [Fact]
    public async Task X509Source_WatchStopsForGood_FailsClosed()
    {
        // Arrange
        await using var source = await X509Source.CreateAsync(new X509SourceOptions { Client = _client }, Ct);
        var updates = Updates(h => source.Updated += h);

        // Act: the next stream attempt is refused with a non-retryable status.
        State.FailNextCalls(StatusCode.InvalidArgument, 1);
        await _server.RestartAsync();
        while (source.TryGetX509Svid(out _))
        {
            await WaitAsync(updates);
        }

        // Assert: nothing is served any more, and disposal is clean.
        Assert.False(source.TryGetX509Bundle(Td, out _));
        Assert.Throws<InvalidOperationException>(source.GetX509Svid);
    }

    [Fact]
    public async Task X509Source_CreateAsync_NonRetryableError_Throws()
    {
        State.FailNextCalls(StatusCode.InvalidArgument, 1);
        var ex = await Assert.ThrowsAsync<WorkloadApiException>(() => X509Source.CreateAsync(new X509SourceOptions { Client = _client }, Ct));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }

    [Fact]
    public async Task X509Source_CreateAsync_Cancelled_Throws()
    {
        State.SetMode(CallerMode.AttestationFailure);
        using var cts = new CancellationTokenSource();
        var creating = X509Source.CreateAsync(new X509SourceOptions { Client = _client }, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => creating);
    }

    [Fact]
    public async Task X509Source_Picker_ChoosesByHint_AndDisposeClosesStream()
    {
        State.SetIdentities(("spiffe://example.org/internal", "internal"), ("spiffe://example.org/external", "external"));
        var source = await X509Source.CreateAsync(
            new X509SourceOptions { Client = _client, SvidPicker = svids => svids.First(s => s.Hint == "external") },
            Ct);

        Assert.Equal("spiffe://example.org/external", source.GetX509Svid().Id.ToString());

        await source.DisposeAsync();
        Assert.False(source.TryGetX509Svid(out _));
        await EventuallyAsync(() => State.OpenStreams == 0);
    }

    [Fact]
    public async Task X509Source_OwnClient_SurvivesAgentRestart()
    {
        // Arrange: the source creates and owns its client.
        await using var source = await X509Source.CreateAsync(
            new X509SourceOptions { ClientOptions = new WorkloadApiClientOptions { Address = _server.Address, BackoffStrategy = new LinearBackoffStrategy { Step = TimeSpan.FromMilliseconds(20) } } },
            Ct);
        var updates = Updates(h => source.Updated += h);
        var before = source.GetX509Svid().Certificate.SerialNumber;

        // Act
        await _server.StopAsync();
        State.RotateX509Svids();
        await _server.ListenAsync();

        // Assert
        string after;
        do
        {
            await WaitAsync(updates);
            after = source.GetX509Svid().Certificate.SerialNumber;
        }
        while (after == before);
    }

    [Fact]
    public async Task JwtSource_CachesSvidUntilHalfLife_AndValidatesWithBundles()
    {
        // Arrange: one fake clock for the source's cache and the agent's minting.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        State.TimeProvider = clock;
        await using var source = await JwtSource.CreateAsync(new WorkloadApiSourceOptions { Client = _client, TimeProvider = clock }, Ct);

        // Act
        var first = await source.FetchJwtSvidAsync("broker", cancellationToken: Ct);
        var cached = await source.FetchJwtSvidAsync("broker", cancellationToken: Ct);
        var callsWhileCached = State.CallCount("FetchJWTSVID");
        clock.Advance(State.JwtSvidTtl / 2 + TimeSpan.FromSeconds(1));
        var refreshed = await source.FetchJwtSvidAsync("broker", cancellationToken: Ct);

        // Assert
        Assert.Same(first, cached);
        Assert.Equal(1, callsWhileCached);
        Assert.Equal(2, State.CallCount("FetchJWTSVID"));
        Assert.NotEqual(first.Marshal(), refreshed.Marshal());
        var result = source.Validate(refreshed.Marshal(), ["broker"], new JwtSvidValidationOptions { TimeProvider = clock });
        Assert.True(result.IsValid, (result as JwtSvidValidationFailure)?.Message);
    }

    [Fact]
    public async Task JwtSource_AudienceSetDecidesCacheEntry()
    {
        await using var source = await JwtSource.CreateAsync(new WorkloadApiSourceOptions { Client = _client }, Ct);

        var ab = await source.FetchJwtSvidAsync("a", ["b"], cancellationToken: Ct);
        var ba = await source.FetchJwtSvidAsync("b", ["a"], cancellationToken: Ct);
        var a = await source.FetchJwtSvidAsync("a", cancellationToken: Ct);

        Assert.Same(ab, ba);
        Assert.NotSame(ab, a);
        Assert.Equal(["a"], a.Audience);
    }

    [Fact]
    public async Task JwtSource_KeyRotation_RaisesUpdatedAndNewTokensValidate()
    {
        await using var source = await JwtSource.CreateAsync(new WorkloadApiSourceOptions { Client = _client }, Ct);
        var updates = Updates(h => source.Updated += h);

        State.RotateJwtKey();
        await WaitAsync(updates);

        var token = State.MintJwtSvid("spiffe://example.org/peer", ["broker"]);
        Assert.True(source.Validate(token, ["broker"]).IsValid);
        Assert.True(source.TryGetJwtBundle(Td, out var bundle));
        Assert.Equal(2, bundle.Authorities.Count);
    }

    [Fact]
    public async Task BundleSource_ServesBothKinds_AndFederationChanges()
    {
        await using var source = await BundleSource.CreateAsync(new WorkloadApiSourceOptions { Client = _client }, Ct);
        var updates = Updates(h => source.Updated += h);
        Assert.True(source.TryGetX509Bundle(Td, out _));
        Assert.True(source.TryGetJwtBundle(Td, out _));
        var other = TrustDomain.Parse("other.org");
        Assert.False(source.TryGetX509Bundle(other, out _));

        using var otherKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        State.SetFederatedBundle("other.org", [TestPki.CreateRoot("other.org").Certificate], TestKeys.JwksJson([TestKeys.ToJwk(otherKey, "o1")]));
        while (!(source.TryGetX509Bundle(other, out _) && source.TryGetJwtBundle(other, out _)))
        {
            await WaitAsync(updates);
        }

        State.RemoveFederatedBundle("other.org");
        while (source.TryGetX509Bundle(other, out _) || source.TryGetJwtBundle(other, out _))
        {
            await WaitAsync(updates);
        }
    }
}
