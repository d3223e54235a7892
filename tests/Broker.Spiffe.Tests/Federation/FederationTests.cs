// Broker.Spiffe — SPIFFE for .NET.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Federation;
using Broker.Spiffe.Tests.TestSupport;
using Broker.Testing.Federation;
using Broker.Testing.Pki;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Spiffe.Tests.Federation;

/// <summary>The bundle endpoint client and federated source against Kestrel over HTTPS on loopback.</summary>
public sealed class FederationTests
{
    private static readonly TrustDomain Other = TrustDomain.Parse("other.org");
    private static readonly (X509Certificate2 Root, X509Certificate2 Server) WebPki = BundleEndpointServer.CreateWebPki();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string BundleJson(long sequence, int refreshSeconds, out SpiffeBundle bundle)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        bundle = new SpiffeBundle(Other, [TestPki.CreateRoot("other.org").Certificate], [new("k" + sequence, TestKeys.ToJwk(key, "k" + sequence))], TimeSpan.FromSeconds(refreshSeconds), sequence);
        return bundle.ToJson();
    }

    private static BundleEndpointOptions WebOptions(BundleEndpointServer server, string path = "/bundle", TimeProvider? time = null) => new()
    {
        EndpointUrl = server.Url(path),
        TrustDomain = Other,
        // Trust the test root, as a real deployment trusts the Web PKI; host name checks still apply.
        ConfigureHandler = h => h.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            CustomTrustStore = { WebPki.Root },
            RevocationMode = X509RevocationMode.NoCheck,
        },
        TimeProvider = time ?? TimeProvider.System,
    };

    [Fact]
    public async Task HttpsWeb_FetchesAndParsesBundle()
    {
        // Arrange
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(7, 60, out var expected);
        using var client = new BundleEndpointClient(WebOptions(server));

        // Act
        var bundle = await client.FetchAsync(Ct);

        // Assert
        Assert.Equal(Other, bundle.TrustDomain);
        Assert.Equal(7, bundle.SequenceNumber);
        Assert.Equal(TimeSpan.FromSeconds(60), bundle.RefreshHint);
        Assert.Equal(expected.X509Bundle.Authorities[0].RawData, Assert.Single(bundle.X509Bundle.Authorities).RawData);
        Assert.True(bundle.JwtBundle.TryGetAuthority("k7", out _));
    }

    [Fact]
    public async Task HttpsWeb_UntrustedServerCertificate_Fails()
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        using var client = new BundleEndpointClient(new BundleEndpointOptions { EndpointUrl = server.Url("/bundle"), TrustDomain = Other });

        var ex = await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct));
        Assert.StartsWith("federation:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/redirect", true)]
    [InlineData("/redirect-http", false)]
    [InlineData("/big", false)]
    [InlineData("/missing", false)]
    public async Task HttpsWeb_RedirectsSizeAndStatus(string path, bool succeeds)
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(1, 60, out _);
        using var client = new BundleEndpointClient(WebOptions(server, path));

        if (succeeds)
        {
            Assert.Equal(1, (await client.FetchAsync(Ct)).SequenceNumber);
        }
        else
        {
            await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct));
        }
    }

    [Fact]
    public async Task Fetch_MalformedBundle_ThrowsFormatException()
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = """{"not":"a bundle"}""";
        using var client = new BundleEndpointClient(WebOptions(server));
        await Assert.ThrowsAsync<SpiffeBundleFormatException>(() => client.FetchAsync(Ct));
    }

    [Theory]
    [InlineData("http://127.0.0.1/bundle")]
    [InlineData("https://user:pw@127.0.0.1/bundle")]
    [InlineData("ftp://127.0.0.1/bundle")]
    public void Options_InsecureUrl_Rejected(string url)
    {
        Assert.Throws<ArgumentException>(() => new BundleEndpointClient(new BundleEndpointOptions { EndpointUrl = new Uri(url), TrustDomain = Other }));
    }

    [Fact]
    public async Task FederatedSource_RefreshesPerHint_IgnoresOlderSequence_KeepsBundleOnFailure()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(1, 60, out _);
        var options = WebOptions(server, time: clock);
        await using var source = await FederatedBundleSource.CreateAsync(options, Ct);
        var updates = Channel.CreateUnbounded<long?>();
        source.Updated += (_, _) => updates.Writer.TryWrite(source.Current.SequenceNumber);
        Assert.Equal(1, source.Current.SequenceNumber);
        Assert.True(source.TryGetX509Bundle(Other, out _));
        Assert.False(source.TryGetJwtBundle(TrustDomain.Parse("example.org"), out _));

        // Act + Assert: a newer bundle is picked up after the hinted interval.
        server.Body = BundleJson(2, 60, out _);
        await AdvanceUntilAsync(clock, () => updates.Reader.Count > 0);
        Assert.Equal(2, await updates.Reader.ReadAsync(Ct));

        // An older sequence is ignored, a failure keeps the current bundle; the next newer one still arrives.
        server.Body = BundleJson(1, 60, out _);
        var before = server.Requests;
        await AdvanceUntilAsync(clock, () => server.Requests > before);
        server.StatusCode = 500;
        before = server.Requests;
        await AdvanceUntilAsync(clock, () => server.Requests > before);
        Assert.Equal(2, source.Current.SequenceNumber);
        server.StatusCode = 200;
        server.Body = BundleJson(3, 60, out _);
        await AdvanceUntilAsync(clock, () => updates.Reader.Count > 0);

        // The next event is sequence 3: neither the stale bundle nor the failure produced one.
        Assert.Equal(3, await updates.Reader.ReadAsync(Ct));
    }

    [Fact]
    public async Task FederatedSource_OlderSequence_IsRefusedAndReported_UntilANewerOneIsAccepted()
    {
        // Arrange
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(5, 60, out var five);
        await using var source = await FederatedBundleSource.CreateAsync(WebOptions(server, time: clock), Ct);
        var firstFetch = source.LastRefreshed;
        Assert.Equal(clock.GetUtcNow(), firstFetch);
        Assert.Null(source.RefusedSequence);

        // Act: the endpoint goes back to sequence 4, with another key.
        server.Body = BundleJson(4, 60, out _);
        await AdvanceUntilAsync(clock, () => source.RefusedSequence is not null);

        // Assert: refused and reported; the bundle in force and its confirmation time are those of sequence 5.
        Assert.Equal(4, source.RefusedSequence);
        Assert.Equal(5, source.Current.SequenceNumber);
        Assert.True(source.TryGetJwtBundle(Other, out var jwt));
        Assert.True(jwt.TryGetAuthority("k5", out _));
        Assert.False(jwt.TryGetAuthority("k4", out _));
        Assert.Equal(firstFetch, source.LastRefreshed);
        Assert.Equal(five.ToJson(), source.Current.ToJson());

        // Act + Assert: the same sequence 5 again confirms the bundle in force and clears the report.
        server.Body = five.ToJson();
        await AdvanceUntilAsync(clock, () => source.RefusedSequence is null);
        Assert.True(source.LastRefreshed > firstFetch);
        Assert.Equal(5, source.Current.SequenceNumber);
    }

    [Theory]
    [InlineData(0, 300)]
    [InlineData(1, 10)]
    [InlineData(60, 60)]
    public async Task FederatedSource_RefreshInterval_IsTheHint_ElseTheDefault_AtLeastTheMinimum(int hintSeconds, int expectedSeconds)
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(1, hintSeconds, out _);
        var options = WebOptions(server, time: new FakeTimeProvider(DateTimeOffset.UtcNow));

        await using var source = await FederatedBundleSource.CreateAsync(options, Ct);

        // A hint of 0 asks for nothing in particular: not a poll without pause, the default.
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), source.RefreshInterval);
    }

    [Fact]
    public async Task Fetch_MaxRedirectsZero_RefusesEveryRedirect()
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(1, 60, out _);
        var options = WebOptions(server, "/redirect");
        options.MaxRedirects = 0;
        using var client = new BundleEndpointClient(options);

        await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct));
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task Fetch_BodyThatNeverEnds_TimesOutLikeAnyOtherRequest()
    {
        // Arrange: the endpoint answers its headers at once, then holds the body.
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        var options = WebOptions(server, "/stall");
        options.RequestTimeout = TimeSpan.FromMilliseconds(500);
        using var client = new BundleEndpointClient(options);

        // Act: bounded by the suite's generous wait, so a fetch that never ends fails the test instead of hanging it.
        var ex = await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct).WaitAsync(RecordingWatcher<object>.Timeout, Ct));

        // Assert: the deadline covers the body too; the caller's own token was not what stopped it.
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(11)]
    public void Options_MaxRedirectsOutOfRange_Rejected(int maxRedirects)
    {
        Assert.Throws<ArgumentException>(() => new BundleEndpointClient(new BundleEndpointOptions
        {
            EndpointUrl = new Uri("https://127.0.0.1/bundle"),
            TrustDomain = Other,
            MaxRedirects = maxRedirects,
        }));
    }

    [Fact]
    public async Task Fetch_LoopbackHttp_OnlyWithTheDangerousOption()
    {
        // Arrange: a plain-http endpoint on loopback.
        await using var server = await BundleEndpointServer.StartAsync(null);
        server.Body = BundleJson(3, 60, out _);
        Assert.Equal(Uri.UriSchemeHttp, server.BaseUrl.Scheme);
        var options = new BundleEndpointOptions { EndpointUrl = server.Url("/bundle"), TrustDomain = Other, DangerousAllowLoopbackHttp = true };

        // Act
        using var client = new BundleEndpointClient(options);
        var bundle = await client.FetchAsync(Ct);

        // Assert
        Assert.Equal(3, bundle.SequenceNumber);
        Assert.Throws<ArgumentException>(() => new BundleEndpointClient(new BundleEndpointOptions { EndpointUrl = server.Url("/bundle"), TrustDomain = Other }));
    }

    [Theory]
    [InlineData("http://example.org/bundle", BundleEndpointProfile.HttpsWeb)]
    [InlineData("http://10.0.0.1/bundle", BundleEndpointProfile.HttpsWeb)]
    [InlineData("http://user:pw@127.0.0.1/bundle", BundleEndpointProfile.HttpsWeb)]
    [InlineData("http://127.0.0.1/bundle", BundleEndpointProfile.HttpsSpiffe)]
    public void Options_DangerousLoopbackHttp_StillRefusesRemoteHttp_UserInfo_AndHttpsSpiffe(string url, BundleEndpointProfile profile)
    {
        var root = TestPki.CreateRoot("other.org");
        Assert.Throws<ArgumentException>(() => new BundleEndpointClient(new BundleEndpointOptions
        {
            EndpointUrl = new Uri(url),
            TrustDomain = Other,
            Profile = profile,
            EndpointSpiffeId = SpiffeId.Parse("spiffe://other.org/bundle-endpoint"),
            InitialBundle = new SpiffeBundle(Other, [root.Certificate], []),
            DangerousAllowLoopbackHttp = true,
        }));
    }

    [Fact]
    public async Task Fetch_DangerousLoopbackHttp_StillRefusesARedirectFromHttpsDownToHttp()
    {
        await using var server = await BundleEndpointServer.StartAsync(WebPki.Server);
        server.Body = BundleJson(1, 60, out _);
        var options = WebOptions(server, "/redirect-http");
        options.DangerousAllowLoopbackHttp = true;
        using var client = new BundleEndpointClient(options);

        await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct));
        Assert.Equal(1, server.Requests);
    }

    /// <summary>
    /// Moves the fake clock one refresh interval at a time until the condition holds. Repeating the step covers
    /// the moment between the refresh loop reading the clock and arming its timer; extra polls are harmless.
    /// </summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(RecordingWatcher<object>.Timeout);
        while (!condition())
        {
            clock.Advance(TimeSpan.FromSeconds(60));
            for (var i = 0; i < 20 && !condition(); i++)
            {
                await Task.Delay(10, timeout.Token);
            }
        }
    }

    [Fact]
    public async Task HttpsSpiffe_SelfServingEndpoint_AuthenticatesWithInitialBundle()
    {
        // Arrange: the endpoint presents an X509-SVID of other.org, issued by other.org's root.
        var root = TestPki.CreateRoot("other.org");
        var endpointSvid = TestPki.CreateLeaf(root, "spiffe://other.org/bundle-endpoint");
        await using var server = await BundleEndpointServer.StartAsync(endpointSvid.Certificate);
        var initial = new SpiffeBundle(Other, [root.Certificate], []);
        server.Body = new SpiffeBundle(Other, [root.Certificate], [], TimeSpan.FromSeconds(60), 5).ToJson();

        BundleEndpointOptions Options(string id) => new()
        {
            EndpointUrl = server.Url("/bundle"),
            TrustDomain = Other,
            Profile = BundleEndpointProfile.HttpsSpiffe,
            EndpointSpiffeId = SpiffeId.Parse(id),
            InitialBundle = initial,
        };

        // Act
        using var client = new BundleEndpointClient(Options("spiffe://other.org/bundle-endpoint"));
        var bundle = await client.FetchAsync(Ct);
        using var wrongId = new BundleEndpointClient(Options("spiffe://other.org/someone-else"));

        // Assert
        Assert.Equal(5, bundle.SequenceNumber);
        await Assert.ThrowsAsync<BundleEndpointException>(() => wrongId.FetchAsync(Ct));
    }

    [Fact]
    public async Task HttpsSpiffe_WrongTrustDomainBundle_Fails()
    {
        var root = TestPki.CreateRoot("other.org");
        var impostorRoot = TestPki.CreateRoot("other.org");
        var endpointSvid = TestPki.CreateLeaf(impostorRoot, "spiffe://other.org/bundle-endpoint");
        await using var server = await BundleEndpointServer.StartAsync(endpointSvid.Certificate);
        using var client = new BundleEndpointClient(new BundleEndpointOptions
        {
            EndpointUrl = server.Url("/bundle"),
            TrustDomain = Other,
            Profile = BundleEndpointProfile.HttpsSpiffe,
            EndpointSpiffeId = SpiffeId.Parse("spiffe://other.org/bundle-endpoint"),
            InitialBundle = new SpiffeBundle(Other, [root.Certificate], []),
        });

        await Assert.ThrowsAsync<BundleEndpointException>(() => client.FetchAsync(Ct));
    }
}
