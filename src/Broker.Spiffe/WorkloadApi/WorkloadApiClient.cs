// Broker.Spiffe — SPIFFE for .NET.

using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Svids;
using Broker.Spiffe.WorkloadApi.Protos;
using Google.Protobuf.Collections;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// A client of the SPIFFE Workload API (spec §1): gRPC over HTTP/2 cleartext on a Unix domain socket (or TCP).
/// </summary>
/// <remarks>
/// Every call carries the <c>workload.spiffe.io: true</c> header the server requires. <c>Fetch*</c> methods make
/// one attempt; <c>Watch*</c> methods keep a stream open, deliver every complete message, and reconnect with
/// backoff on errors except InvalidArgument and Unimplemented. A message that misses a mandatory field (e.g. no
/// SVIDs) is reported and discarded, never applied. Thread-safe; one instance per process is enough.
/// </remarks>
public sealed class WorkloadApiClient : IAsyncDisposable
{
    /// <summary>The security header every Workload API call must carry (spec §1).</summary>
    public const string SecurityHeaderName = "workload.spiffe.io";

    /// <summary>The longest hint the Workload API may send, in bytes (spec §1).</summary>
    internal const int MaxHintBytes = 1024;

    private readonly GrpcChannel _channel;
    private readonly SpiffeWorkloadAPI.SpiffeWorkloadAPIClient _client;
    private readonly IBackoffStrategy _backoff;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a client. No connection is made until the first call.</summary>
    /// <exception cref="InvalidOperationException">No address is configured and <c>SPIFFE_ENDPOINT_SOCKET</c> is unset or invalid.</exception>
    public WorkloadApiClient(WorkloadApiClientOptions? options = null)
    {
        options ??= new WorkloadApiClientOptions();
        Address = options.Address ?? WorkloadApiAddress.FromEnvironment();
        _backoff = options.BackoffStrategy ?? throw new ArgumentException("workloadapi: BackoffStrategy is null.", nameof(options));
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger<WorkloadApiClient>() ?? (ILogger)NullLogger.Instance;

        var endPoint = Address.EndPoint;
        var handler = new SocketsHttpHandler
        {
            // The "http://localhost" below is only the :authority; every connection goes to the configured socket.
            ConnectCallback = async (_, ct) =>
            {
                var socket = endPoint is System.Net.Sockets.UnixDomainSocketEndPoint
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            // Notice a dead agent on an idle stream instead of waiting forever for the next rotation.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };

        // Do not call _channel.ConnectAsync(): it is not supported with a ConnectCallback (grpc-dotnet#2428).
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            LoggerFactory = options.LoggerFactory,
        });
        _client = new SpiffeWorkloadAPI.SpiffeWorkloadAPIClient(_channel);
    }

    /// <summary>The address the client connects to.</summary>
    public WorkloadApiAddress Address { get; }

    /// <summary>Fetches the current X.509 context (SVIDs and bundles) once.</summary>
    /// <exception cref="WorkloadApiException">The call failed or the message is unusable.</exception>
    public Task<X509Context> FetchX509ContextAsync(CancellationToken cancellationToken = default) =>
        FetchFirstAsync("FetchX509SVID", o => _client.FetchX509SVID(new X509SVIDRequest(), o), ToX509Context, cancellationToken);

    /// <summary>Watches the X.509 context until cancelled or a non-retryable error (which is rethrown).</summary>
    public Task WatchX509ContextAsync(IWorkloadApiWatcher<X509Context> watcher, CancellationToken cancellationToken = default) =>
        WatchAsync("FetchX509SVID", o => _client.FetchX509SVID(new X509SVIDRequest(), o), ToX509Context, watcher, cancellationToken);

    /// <summary>
    /// Watches the X.509 context as a stream of complete updates. Retryable errors are retried silently (and
    /// logged); a non-retryable one ends the enumeration with a <see cref="WorkloadApiException"/>. A slow consumer
    /// sees only the newest update.
    /// </summary>
    public IAsyncEnumerable<X509Context> WatchX509ContextAsync(CancellationToken cancellationToken = default) =>
        EnumerateAsync<X509Context>(WatchX509ContextAsync, cancellationToken);

    /// <summary>Fetches the X.509 bundles once (no SVIDs).</summary>
    /// <exception cref="WorkloadApiException">The call failed or the message is unusable.</exception>
    public Task<X509BundleSet> FetchX509BundlesAsync(CancellationToken cancellationToken = default) =>
        FetchFirstAsync("FetchX509Bundles", o => _client.FetchX509Bundles(new X509BundlesRequest(), o), ToX509Bundles, cancellationToken);

    /// <summary>Watches the X.509 bundles until cancelled or a non-retryable error (which is rethrown).</summary>
    public Task WatchX509BundlesAsync(IWorkloadApiWatcher<X509BundleSet> watcher, CancellationToken cancellationToken = default) =>
        WatchAsync("FetchX509Bundles", o => _client.FetchX509Bundles(new X509BundlesRequest(), o), ToX509Bundles, watcher, cancellationToken);

    /// <summary>Watches the X.509 bundles as a stream of complete updates (see <see cref="WatchX509ContextAsync(CancellationToken)"/>).</summary>
    public IAsyncEnumerable<X509BundleSet> WatchX509BundlesAsync(CancellationToken cancellationToken = default) =>
        EnumerateAsync<X509BundleSet>(WatchX509BundlesAsync, cancellationToken);

    /// <summary>Fetches the JWT bundles once.</summary>
    /// <exception cref="WorkloadApiException">The call failed or the message is unusable.</exception>
    public Task<JwtBundleSet> FetchJwtBundlesAsync(CancellationToken cancellationToken = default) =>
        FetchFirstAsync("FetchJWTBundles", o => _client.FetchJWTBundles(new JWTBundlesRequest(), o), ToJwtBundles, cancellationToken);

    /// <summary>Watches the JWT bundles until cancelled or a non-retryable error (which is rethrown).</summary>
    public Task WatchJwtBundlesAsync(IWorkloadApiWatcher<JwtBundleSet> watcher, CancellationToken cancellationToken = default) =>
        WatchAsync("FetchJWTBundles", o => _client.FetchJWTBundles(new JWTBundlesRequest(), o), ToJwtBundles, watcher, cancellationToken);

    /// <summary>Watches the JWT bundles as a stream of complete updates (see <see cref="WatchX509ContextAsync(CancellationToken)"/>).</summary>
    public IAsyncEnumerable<JwtBundleSet> WatchJwtBundlesAsync(CancellationToken cancellationToken = default) =>
        EnumerateAsync<JwtBundleSet>(WatchJwtBundlesAsync, cancellationToken);

    /// <summary>
    /// Fetches a JWT-SVID for <paramref name="audience"/> (plus <paramref name="extraAudiences"/>; single-audience
    /// tokens are safer, spec §3). With <paramref name="subject"/>, only that identity; otherwise the default (first) one.
    /// </summary>
    /// <exception cref="WorkloadApiException">The call failed or returned no usable SVID.</exception>
    public async Task<JwtSvid> FetchJwtSvidAsync(string audience, IEnumerable<string>? extraAudiences = null, SpiffeId? subject = null, CancellationToken cancellationToken = default)
    {
        var svids = await FetchJwtSvidsAsync(audience, extraAudiences, subject, cancellationToken).ConfigureAwait(false);
        return svids[0];
    }

    /// <summary>Fetches every JWT-SVID the workload is entitled to for the audience (see <see cref="FetchJwtSvidAsync"/>).</summary>
    /// <exception cref="WorkloadApiException">The call failed or returned no usable SVID.</exception>
    public async Task<IReadOnlyList<JwtSvid>> FetchJwtSvidsAsync(string audience, IEnumerable<string>? extraAudiences = null, SpiffeId? subject = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(audience);
        var request = new JWTSVIDRequest { Audience = { audience } };
        if (extraAudiences is not null)
        {
            request.Audience.AddRange(extraAudiences);
        }

        if (subject is { IsZero: false } s)
        {
            request.SpiffeId = s.ToString();
        }

        var response = await UnaryAsync("FetchJWTSVID", o => _client.FetchJWTSVIDAsync(request, o), cancellationToken).ConfigureAwait(false);
        var result = new List<JwtSvid>(response.Svids.Count);
        var hints = new HashSet<string>(StringComparer.Ordinal);
        foreach (var svid in response.Svids)
        {
            JwtSvid parsed;
            try
            {
                // The token comes from our own agent over the local socket; its signature is the agent's to vouch for.
                parsed = JwtSvid.ParseInsecure(svid.Svid);
            }
            catch (FormatException ex)
            {
                throw new WorkloadApiException("workloadapi: FetchJWTSVID returned an invalid JWT-SVID: " + ex.Message, ex);
            }

            if (!string.Equals(parsed.Id.ToString(), svid.SpiffeId, StringComparison.Ordinal))
            {
                throw new WorkloadApiException("workloadapi: FetchJWTSVID returned a JWT-SVID whose subject differs from its spiffe_id.");
            }

            if (System.Text.Encoding.UTF8.GetByteCount(svid.Hint) > MaxHintBytes)
            {
                throw new WorkloadApiException("workloadapi: FetchJWTSVID returned a hint longer than 1024 bytes.");
            }

            if (svid.Hint.Length > 0 && !hints.Add(svid.Hint))
            {
                Log.DuplicateHint(_logger, "FetchJWTSVID");
                continue;
            }

            result.Add(svid.Hint.Length > 0 ? WithHint(parsed, svid.Hint) : parsed);
        }

        if (result.Count == 0)
        {
            throw new WorkloadApiException("workloadapi: FetchJWTSVID returned no SVIDs.");
        }

        return result;
    }

    /// <summary>
    /// Asks the Workload API to validate <paramref name="token"/> for <paramref name="audience"/>, then parses it
    /// (go-spiffe's ValidateJWTSVID). An invalid token fails with InvalidArgument (SPIRE).
    /// </summary>
    /// <exception cref="WorkloadApiException">The token is invalid or the call failed.</exception>
    public async Task<JwtSvid> ValidateJwtSvidAsync(string token, string audience, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        var response = await UnaryAsync(
            "ValidateJWTSVID",
            o => _client.ValidateJWTSVIDAsync(new ValidateJWTSVIDRequest { Audience = audience, Svid = token }, o),
            cancellationToken).ConfigureAwait(false);
        JwtSvid svid;
        try
        {
            svid = JwtSvid.ParseInsecure(token);
        }
        catch (FormatException ex)
        {
            throw new WorkloadApiException("workloadapi: ValidateJWTSVID accepted a token that does not parse: " + ex.Message, ex);
        }

        if (!string.Equals(svid.Id.ToString(), response.SpiffeId, StringComparison.Ordinal))
        {
            throw new WorkloadApiException("workloadapi: ValidateJWTSVID returned a SPIFFE ID that differs from the token's subject.");
        }

        return svid;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static X509Context ToX509Context(X509SVIDResponse response)
    {
        // svids is mandatory: an empty list is an error to discard, not "no identity" (spec §1).
        if (response.Svids.Count == 0)
        {
            throw new FormatException("X509SVIDResponse has no SVIDs.");
        }

        var svids = new List<X509Svid>(response.Svids.Count);
        var hints = new HashSet<string>(StringComparer.Ordinal);
        var bundles = new Dictionary<TrustDomain, X509Bundle>();
        foreach (var item in response.Svids)
        {
            if (!SpiffeId.TryParse(item.SpiffeId, out var id))
            {
                throw new FormatException("X509SVID has an invalid spiffe_id.");
            }

            if (System.Text.Encoding.UTF8.GetByteCount(item.Hint) > MaxHintBytes)
            {
                throw new FormatException("X509SVID hint is longer than 1024 bytes.");
            }

            var svid = X509Svid.ParseRaw(item.X509Svid.Span, item.X509SvidKey.Span, item.Hint);
            if (svid.Id != id)
            {
                throw new FormatException("X509SVID certificate's SPIFFE ID differs from its spiffe_id.");
            }

            // Hints are unique per response; on a duplicate keep the first (spec §1).
            if (item.Hint.Length > 0 && !hints.Add(item.Hint))
            {
                continue;
            }

            svids.Add(svid);
            if (!bundles.ContainsKey(id.TrustDomain))
            {
                bundles[id.TrustDomain] = X509Bundle.ParseDer(id.TrustDomain, item.Bundle.Span);
            }
        }

        AddX509Bundles(bundles, response.FederatedBundles);
        return new X509Context(svids, new X509BundleSet(bundles.Values));
    }

    internal static X509BundleSet ToX509Bundles(X509BundlesResponse response)
    {
        var bundles = new Dictionary<TrustDomain, X509Bundle>();
        AddX509Bundles(bundles, response.Bundles);
        return new X509BundleSet(bundles.Values);
    }

    internal static JwtBundleSet ToJwtBundles(JWTBundlesResponse response)
    {
        var bundles = new List<JwtBundle>(response.Bundles.Count);
        var seen = new HashSet<TrustDomain>();
        foreach (var (key, json) in response.Bundles)
        {
            var td = ParseBundleKey(key);
            if (!seen.Add(td))
            {
                // "example.org" and "spiffe://example.org" in one map: ambiguous, refuse the message.
                throw new FormatException("JWTBundlesResponse names one trust domain twice.");
            }

            bundles.Add(JwtBundle.ParseJwks(td, json.Span));
        }

        return new JwtBundleSet(bundles);
    }

    private static void AddX509Bundles(Dictionary<TrustDomain, X509Bundle> bundles, MapField<string, Google.Protobuf.ByteString> map)
    {
        var own = bundles.Keys.ToHashSet();
        var seen = new HashSet<TrustDomain>();
        foreach (var (key, der) in map)
        {
            var td = ParseBundleKey(key);
            if (!seen.Add(td))
            {
                throw new FormatException("bundle map names one trust domain twice.");
            }

            // The SVIDs' own bundle wins over a federated entry for the same trust domain.
            if (!own.Contains(td))
            {
                bundles[td] = X509Bundle.ParseDer(td, der.Span);
            }
        }
    }

    private static TrustDomain ParseBundleKey(string key) =>
        TrustDomain.TryParse(key, out var td) ? td : throw new FormatException("bundle map has an invalid trust domain key.");

    private static JwtSvid WithHint(JwtSvid svid, string hint) => svid.WithHint(hint);

    private static CallOptions CallOptionsFor(CancellationToken cancellationToken) =>
        new(headers: new Metadata { { SecurityHeaderName, "true" } }, cancellationToken: cancellationToken);

    private static async Task<TResponse> UnaryAsync<TResponse>(string rpc, Func<CallOptions, AsyncUnaryCall<TResponse>> call, CancellationToken cancellationToken)
    {
        try
        {
            using var pending = call(CallOptionsFor(cancellationToken));
            return await pending.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw new WorkloadApiException($"workloadapi: {rpc} failed: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
    }

    private static async Task<T> FetchFirstAsync<TResponse, T>(string rpc, Func<CallOptions, AsyncServerStreamingCall<TResponse>> open, Func<TResponse, T> convert, CancellationToken cancellationToken)
    {
        try
        {
            using var call = open(CallOptionsFor(cancellationToken));
            if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                throw new WorkloadApiException($"workloadapi: {rpc} stream ended before the first message.");
            }

            try
            {
                return convert(call.ResponseStream.Current);
            }
            catch (FormatException ex)
            {
                throw new WorkloadApiException($"workloadapi: {rpc} returned an unusable message: {ex.Message}", ex);
            }
        }
        catch (RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex)
        {
            throw new WorkloadApiException($"workloadapi: {rpc} failed: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
    }

    private async Task WatchAsync<TResponse, T>(
        string rpc,
        Func<CallOptions, AsyncServerStreamingCall<TResponse>> open,
        Func<TResponse, T> convert,
        IWorkloadApiWatcher<T> watcher,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(watcher);
        var backoff = _backoff.CreateBackoff();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            WorkloadApiException? failure = null;
            try
            {
                using var call = open(CallOptionsFor(cancellationToken));
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    T update;
                    try
                    {
                        update = convert(call.ResponseStream.Current);
                    }
                    catch (FormatException ex)
                    {
                        // Never apply half a message: report it and keep the previous state (spec §1).
                        Log.MessageDiscarded(_logger, rpc, ex.Message);
                        watcher.OnError(new WorkloadApiException($"workloadapi: {rpc} returned an unusable message: {ex.Message}", ex));
                        continue;
                    }

                    backoff.Reset();
                    Log.Update(_logger, rpc);
                    watcher.OnUpdate(update);
                }
            }
            catch (RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException ex)
            {
                failure = new WorkloadApiException($"workloadapi: {rpc} failed: {ex.StatusCode}: {ex.Status.Detail}", ex);
                watcher.OnError(failure);
                if (!failure.IsRetryable)
                {
                    Log.CallFailedNotRetrying(_logger, rpc, ex.StatusCode, ex.Status.Detail);
                    throw failure;
                }
            }

            var delay = backoff.NextDelay();
            if (failure?.InnerException is RpcException rpcEx)
            {
                Log.CallFailedRetrying(_logger, rpc, rpcEx.StatusCode, rpcEx.Status.Detail, delay);
            }
            else
            {
                // The server closed the stream cleanly; keep watching (spec §1).
                Log.StreamEnded(_logger, rpc, delay);
            }

            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<T> EnumerateAsync<T>(
        Func<IWorkloadApiWatcher<T>, CancellationToken, Task> watch,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Capacity one, drop oldest: every message is complete, so a slow reader only needs the newest.
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = Task.Run(
            async () =>
            {
                try
                {
                    await watch(new ChannelWatcher<T>(channel.Writer), stop.Token).ConfigureAwait(false);
                    channel.Writer.TryComplete();
                }
                catch (OperationCanceledException)
                {
                    channel.Writer.TryComplete();
                }
                catch (WorkloadApiException ex)
                {
                    channel.Writer.TryComplete(ex);
                }
            },
            CancellationToken.None);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
        }
    }

    private sealed class ChannelWatcher<T>(ChannelWriter<T> writer) : IWorkloadApiWatcher<T>
    {
        public void OnUpdate(T update) => writer.TryWrite(update);

        public void OnError(WorkloadApiException exception)
        {
            // Retryable errors are logged by the client and retried; the enumerable carries only updates.
        }
    }
}
