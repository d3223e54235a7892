using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Broker.Policy;
using Broker.Spiffe;
using Broker.Spiffe.Bundles;
using Broker.Spiffe.Federation;
using Microsoft.Extensions.Options;

namespace Broker.Trust;

/// <summary>
/// The bundles (JWT and X.509 authorities) of every trust domain the policy trusts, kept current:
/// bundle files are re-read when they change, bundle endpoints are polled at their
/// <c>spiffe_refresh_hint</c> through Broker.Spiffe's <see cref="FederatedBundleSource"/> (which refuses a bundle
/// whose <c>spiffe_sequence</c> goes backwards), Workload API bundles are live. Only the URLs written in policy are
/// ever fetched. A trust domain removed from policy is dropped at once, and each trust domain is
/// only ever answered with its own bundle (SPIFFE Federation: never merge trust domains).
/// </summary>
internal sealed class TrustBundleRegistry : IJwtBundleSource, IX509BundleSource, IHostedService, IDisposable
{
    /// <summary>Polling interval of a bundle endpoint whose bundle has no hint (SPIFFE Federation §4.2: 5 minutes).</summary>
    private static readonly TimeSpan DefaultRefresh = TimeSpan.FromMinutes(5);

    /// <summary>The shortest polling interval: a hint is in whole seconds, so any hint is honoured.</summary>
    private static readonly TimeSpan MinimumRefresh = TimeSpan.FromSeconds(1);

    /// <summary>How soon a bundle endpoint that never answered is tried again.</summary>
    private static readonly TimeSpan FirstFetchRetry = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan FilePollInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IPolicyProvider _policy;
    private readonly BundleFetchOptions _fetch;
    private readonly IDevBundleSource? _devBundles;
    private readonly IWorkloadApiBundleSource? _workloadApi;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<TrustBundleRegistry> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Timer? _timer;

    public TrustBundleRegistry(
        IPolicyProvider policy,
        IOptions<BundleFetchOptions> fetch,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IDevBundleSource? devBundles = null,
        IWorkloadApiBundleSource? workloadApi = null)
    {
        _workloadApi = workloadApi;
        _policy = policy;
        _fetch = fetch.Value;
        _devBundles = devBundles;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<TrustBundleRegistry>();
    }

    public bool TryGetJwtBundle(TrustDomain trustDomain, [NotNullWhen(true)] out JwtBundle? bundle)
    {
        bundle = null;
        if (!_entries.TryGetValue(trustDomain.Name, out var entry))
        {
            return false;
        }

        switch (entry.Spec.Kind)
        {
            case BundleSourceKind.Dev:
                return _devBundles?.TryGetJwtBundle(trustDomain, out bundle) ?? false;
            case BundleSourceKind.WorkloadApi:
                return _workloadApi?.TryGetJwtBundle(trustDomain, out bundle) ?? false;
            default:
                bundle = entry.Bundle?.JwtBundle;
                return bundle is not null;
        }
    }

    public bool TryGetX509Bundle(TrustDomain trustDomain, [NotNullWhen(true)] out X509Bundle? bundle)
    {
        bundle = null;
        if (!_entries.TryGetValue(trustDomain.Name, out var entry))
        {
            return false;
        }

        switch (entry.Spec.Kind)
        {
            case BundleSourceKind.Dev:
                return false;
            case BundleSourceKind.WorkloadApi:
                return _workloadApi?.TryGetX509Bundle(trustDomain, out bundle) ?? false;
            default:
                bundle = entry.Bundle?.X509Bundle;
                return bundle is not null && bundle.Authorities.Count > 0;
        }
    }

    /// <summary>
    /// <c>missing</c> (a trust domain has no bundle yet), <c>stale</c> (a bundle endpoint has not confirmed its bundle
    /// for three refresh intervals: publishers announce new keys 3-5 intervals ahead, so past that the bundle may lack
    /// keys workloads already use, or still hold removed ones), <c>older bundle refused</c> (ready: a bundle endpoint
    /// served a lower <c>spiffe_sequence</c> than the bundle in force, which stays) or <c>ok</c>.
    /// </summary>
    public BundleHealth Health
    {
        get
        {
            var now = _timeProvider.GetUtcNow();
            var stale = false;
            List<string>? refused = null;
            foreach (var entry in _entries.Values)
            {
                var loaded = entry.Spec.Kind switch
                {
                    BundleSourceKind.Dev => true,
                    BundleSourceKind.WorkloadApi => _workloadApi is not null && _workloadApi.TryGetJwtBundle(entry.TrustDomain, out _),
                    _ => entry.Bundle is not null,
                };
                if (!loaded)
                {
                    return BundleHealth.Missing;
                }

                if (entry.Endpoint is not { } source)
                {
                    continue;
                }

                // A refused (older) bundle confirms nothing: served for long enough, the bundle in force goes stale too.
                stale |= source.LastRefreshed is not { } confirmed || now > confirmed + (3 * source.RefreshInterval);
                if (source.RefusedSequence is { } sequence)
                {
                    (refused ??= []).Add(string.Create(
                        CultureInfo.InvariantCulture,
                        $"the bundle endpoint of {entry.TrustDomain.Name} served spiffe_sequence {sequence}, older than the {source.Current.SequenceNumber} in force"));
                }
            }

            return stale ? BundleHealth.Stale
                : refused is null ? BundleHealth.Ok
                : BundleHealth.Refused($"bundles: {string.Join("; ", refused)}; refused (logged as FederationStaleBundleIgnored), the bundle in force stays");
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _policy.Changed += OnPolicyChanged;
        if (_policy.Current is { } current)
        {
            await ReconcileAsync(current, cancellationToken);
        }

        _timer = new Timer(_ => _ = RefreshDueAsync(), null, FilePollInterval, FilePollInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _policy.Changed -= OnPolicyChanged;
        await _stopping.CancelAsync();
        _timer?.Change(Timeout.Infinite, Timeout.Infinite);
        foreach (var entry in _entries.Values)
        {
            await RetireAsync(entry);
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _stopping.Dispose();
    }

    private void OnPolicyChanged(PolicySet policy) => _ = ReconcileAsync(policy, _stopping.Token);

    /// <summary>Makes the registry match the policy: new trust domains are loaded, removed ones dropped.</summary>
    internal async Task ReconcileAsync(PolicySet policy, CancellationToken cancellationToken)
    {
        foreach (var (name, entry) in _entries)
        {
            if ((!policy.TrustDomains.TryGetValue(name, out var source) || entry.Spec != source.Bundle)
                && _entries.TryRemove(KeyValuePair.Create(name, entry)))
            {
                await RetireAsync(entry);
            }
        }

        foreach (var (name, source) in policy.TrustDomains)
        {
            var entry = _entries.GetOrAdd(name, _ => new Entry(TrustDomain.Parse(name), source.Bundle));
            if (entry.Bundle is null && IsFetched(entry.Spec))
            {
                await RefreshAsync(entry, cancellationToken);
            }
        }
    }

    private async Task RefreshDueAsync()
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var entry in _entries.Values)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            // Files are checked for a change at every tick; an endpoint polls itself once it has answered, and until
            // then its first fetch is retried here.
            var due = entry.Spec.Kind == BundleSourceKind.File || (entry.Endpoint is null && entry.NextAttempt <= now);
            if (due && IsFetched(entry.Spec))
            {
                await RefreshAsync(entry, _stopping.Token);
            }
        }
    }

    private async Task RefreshAsync(Entry entry, CancellationToken cancellationToken)
    {
        if (!await entry.Gate.WaitAsync(0, cancellationToken))
        {
            return;
        }

        try
        {
            if (entry.Retired)
            {
                return;
            }

            if (entry.Spec.File is { } file)
            {
                await LoadFileAsync(entry, file, cancellationToken);
            }
            else if (entry.Endpoint is null)
            {
                await ConnectAsync(entry, entry.Spec.Endpoint!, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or SpiffeBundleFormatException or BundleEndpointException or OperationCanceledException or UnauthorizedAccessException)
        {
            // Keep the last good bundle (SPIFFE Federation §4.2: on failure, wait for the next interval).
            entry.NextAttempt = _timeProvider.GetUtcNow() + FirstFetchRetry;
            Log.BundleUnavailable(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), ex.GetType().Name);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task LoadFileAsync(Entry entry, string file, CancellationToken cancellationToken)
    {
        var stamp = File.GetLastWriteTimeUtc(file);
        if (entry.FileBundle is not null && stamp == entry.FileStamp)
        {
            return;
        }

        entry.FileStamp = stamp;
        var bundle = SpiffeBundle.Parse(entry.TrustDomain, await File.ReadAllBytesAsync(file, cancellationToken));
        entry.FileBundle = bundle;
        Log.BundleLoaded(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), bundle.JwtBundle.Authorities.Count);
    }

    /// <summary>The first fetch from a bundle endpoint; from then on its <see cref="FederatedBundleSource"/> polls it.</summary>
    private async Task ConnectAsync(Entry entry, Uri endpoint, CancellationToken cancellationToken)
    {
        var source = await FederatedBundleSource.CreateAsync(
            new BundleEndpointOptions
            {
                EndpointUrl = endpoint,
                TrustDomain = entry.TrustDomain,

                // No redirects: only the URLs written in policy are ever fetched (no SSRF through a 3xx).
                MaxRedirects = 0,

                // The policy loader accepted http only on loopback, and only where Broker:Policy:AllowInsecureLoopbackUrls
                // (or --dev) allows it; the library checks loopback again.
                DangerousAllowLoopbackHttp = endpoint.Scheme == Uri.UriSchemeHttp,
                DefaultRefreshInterval = DefaultRefresh,
                MinRefreshInterval = MinimumRefresh,
                RequestTimeout = _fetch.RequestTimeout,
                ConfigureHandler = _fetch.ConfigureHandler,
                LoggerFactory = _loggerFactory,
                TimeProvider = _timeProvider,
            },
            cancellationToken);
        source.Updated += (_, _) => Log.BundleLoaded(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), source.Current.JwtBundle.Authorities.Count);
        entry.Endpoint = source;
        Log.BundleLoaded(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), source.Current.JwtBundle.Authorities.Count);
    }

    /// <summary>Stops an entry's polling, once no fetch of it is in flight.</summary>
    private static async Task RetireAsync(Entry entry)
    {
        await entry.Gate.WaitAsync(CancellationToken.None);
        try
        {
            entry.Retired = true;
            if (entry.Endpoint is { } source)
            {
                await source.DisposeAsync();
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private static bool IsFetched(BundleSourceSpec spec) => spec.Kind is BundleSourceKind.File or BundleSourceKind.Endpoint;

    private sealed class Entry(TrustDomain trustDomain, BundleSourceSpec spec)
    {
        public TrustDomain TrustDomain { get; } = trustDomain;

        public BundleSourceSpec Spec { get; } = spec;

        /// <summary>One load or first fetch at a time; retiring waits for it.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public volatile SpiffeBundle? FileBundle;

        /// <summary>A bundle endpoint's source, once its first fetch succeeded.</summary>
        public volatile FederatedBundleSource? Endpoint;

        /// <summary>Set when the trust domain left policy or the registry stopped: nothing is loaded for it any more.</summary>
        public volatile bool Retired;

        public DateTime FileStamp { get; set; }

        /// <summary>For a bundle endpoint that has not answered yet: when to try again.</summary>
        public DateTimeOffset NextAttempt { get; set; }

        /// <summary>The bundle in force, from the file or the endpoint; null until one was loaded.</summary>
        public SpiffeBundle? Bundle => Spec.Kind == BundleSourceKind.File ? FileBundle : Endpoint?.Current;
    }
}

/// <summary>The in-process identity source of <c>--dev</c>, registered only in dev mode.</summary>
internal interface IDevBundleSource : IJwtBundleSource;

/// <summary>Bundles from the broker's own SPIFFE Workload API, registered when it is configured.</summary>
internal interface IWorkloadApiBundleSource : IJwtBundleSource, IX509BundleSource;
