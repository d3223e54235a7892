using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Broker.Policy;
using Broker.Spiffe;
using Broker.Spiffe.Bundles;

namespace Broker.Subjects;

/// <summary>
/// The bundles (JWT and X.509 authorities) of every trust domain the policy trusts, kept current:
/// bundle files are re-read when they change, bundle endpoints are polled at their
/// <c>spiffe_refresh_hint</c>, Workload API bundles are live. Only the URLs written in policy are
/// ever fetched. A trust domain removed from policy is dropped at once, and each trust domain is
/// only ever answered with its own bundle (SPIFFE Federation: never merge trust domains).
/// </summary>
internal sealed class TrustBundleRegistry : IJwtBundleSource, IX509BundleSource, IHostedService, IDisposable
{
    private static readonly TimeSpan DefaultRefresh = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan FilePollInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IPolicyProvider _policy;
    private readonly IHttpClientFactory _httpClientFactory;
    private readonly IDevBundleSource? _devBundles;
    private readonly IWorkloadApiBundleSource? _workloadApi;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<TrustBundleRegistry> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Timer? _timer;

    public TrustBundleRegistry(
        IPolicyProvider policy,
        IHttpClientFactory httpClientFactory,
        TimeProvider timeProvider,
        ILogger<TrustBundleRegistry> logger,
        IDevBundleSource? devBundles = null,
        IWorkloadApiBundleSource? workloadApi = null)
    {
        _workloadApi = workloadApi;
        _policy = policy;
        _httpClientFactory = httpClientFactory;
        _devBundles = devBundles;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The HttpClient name used for bundle endpoints.</summary>
    public const string HttpClientName = "broker-bundle-endpoints";

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

    /// <summary>True when every trust domain in policy has a bundle (for readiness).</summary>
    public bool AllLoaded => Health == "ok";

    /// <summary>
    /// <c>ok</c>, <c>missing</c> (a trust domain has no bundle yet) or <c>stale</c> (a bundle endpoint has
    /// not answered for three refresh intervals: publishers announce new keys 3-5 intervals ahead, so
    /// past that the bundle may lack keys workloads already use, or still hold removed ones).
    /// </summary>
    public string Health
    {
        get
        {
            var now = _timeProvider.GetUtcNow();
            var stale = false;
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
                    return "missing";
                }

                stale |= entry.Spec.Kind == BundleSourceKind.Endpoint && now > entry.FreshUntil;
            }

            return stale ? "stale" : "ok";
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

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _policy.Changed -= OnPolicyChanged;
        _stopping.Cancel();
        _timer?.Change(Timeout.Infinite, Timeout.Infinite);
        return Task.CompletedTask;
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
        foreach (var name in _entries.Keys)
        {
            if (!policy.TrustDomains.TryGetValue(name, out var source) || _entries[name].Spec != source.Bundle)
            {
                _entries.TryRemove(name, out _);
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

            var due = entry.Spec.File is not null || entry.NextRefresh <= now;
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
            byte[] json;
            if (entry.Spec.File is { } file)
            {
                var stamp = File.GetLastWriteTimeUtc(file);
                if (entry.Bundle is not null && stamp == entry.FileStamp)
                {
                    return;
                }

                entry.FileStamp = stamp;
                json = await File.ReadAllBytesAsync(file, cancellationToken);
            }
            else
            {
                var client = _httpClientFactory.CreateClient(HttpClientName);
                json = await client.GetByteArrayAsync(entry.Spec.Endpoint, cancellationToken);
            }

            var bundle = SpiffeBundle.Parse(entry.TrustDomain, json);
            entry.Bundle = bundle;
            var interval = bundle.RefreshHint is { } hint && hint > TimeSpan.Zero ? hint : DefaultRefresh;
            entry.NextRefresh = _timeProvider.GetUtcNow() + interval;
            entry.FreshUntil = _timeProvider.GetUtcNow() + (3 * interval);
            Log.BundleLoaded(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), bundle.JwtBundle.Authorities.Count);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or SpiffeBundleFormatException or TaskCanceledException or UnauthorizedAccessException)
        {
            // Keep the last good bundle (SPIFFE Federation §4.3: on failure, wait for the next interval).
            entry.NextRefresh = _timeProvider.GetUtcNow() + (entry.Bundle?.RefreshHint is { } last && last > TimeSpan.Zero && last < TimeSpan.FromSeconds(30) ? last : TimeSpan.FromSeconds(30));
            Log.BundleUnavailable(_logger, entry.TrustDomain.Name, entry.Spec.ToString(), ex.GetType().Name);
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

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public volatile SpiffeBundle? Bundle;

        public DateTime FileStamp { get; set; }

        public DateTimeOffset NextRefresh { get; set; }

        /// <summary>For bundle endpoints: past this, the last good bundle is too old to be trusted as current.</summary>
        public DateTimeOffset FreshUntil { get; set; }
    }
}

/// <summary>The in-process identity source of <c>--dev</c>, registered only in dev mode.</summary>
internal interface IDevBundleSource : IJwtBundleSource;

/// <summary>Bundles from the broker's own SPIFFE Workload API, registered when it is configured.</summary>
internal interface IWorkloadApiBundleSource : IJwtBundleSource, IX509BundleSource;
