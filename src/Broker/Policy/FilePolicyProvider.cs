using Microsoft.Extensions.Options;

namespace Broker.Policy;

/// <summary>
/// Loads the policy directory at start (refusing to start on errors) and reloads it when a file
/// changes. A bad edit is logged with file:line messages and the last good policy stays in force;
/// requests in flight keep the snapshot they started with.
/// </summary>
internal sealed class FilePolicyProvider : IPolicyProvider, IHostedService, IDisposable
{
    private readonly PolicyOptions _options;
    private readonly PolicyLoadOptions _loadOptions;
    private readonly ILogger<FilePolicyProvider> _logger;
    private readonly TimeProvider _timeProvider;
    private readonly PolicyTelemetry _telemetry;
    private readonly Lock _reloadLock = new();
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private volatile PolicySet? _current;
    private volatile PolicyReloadFailure? _lastReloadFailure;
    private int _rejectedReloads;

    public FilePolicyProvider(IOptions<PolicyOptions> options, PolicyLoadOptions loadOptions, ILogger<FilePolicyProvider> logger, TimeProvider timeProvider, PolicyTelemetry telemetry)
    {
        _telemetry = telemetry;
        _options = options.Value;
        _loadOptions = loadOptions;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    public PolicySet? Current => _current;

    public PolicyReloadFailure? LastReloadFailure => _lastReloadFailure;

    public event Action<PolicySet>? Changed;

    public PolicyLoadResult Reload()
    {
        lock (_reloadLock)
        {
            var result = PolicyLoader.Load(_options.Path!, _loadOptions);
            if (!result.Succeeded)
            {
                foreach (var error in result.Errors)
                {
                    Log.PolicyError(_logger, error.ToString());
                }

                Log.PolicyRejected(_logger, result.Errors.Count, _current?.Version);
                _lastReloadFailure = new PolicyReloadFailure(_timeProvider.GetUtcNow(), result.Errors.Count);
                _rejectedReloads++;
                _telemetry.Reloaded("rejected");
                return result;
            }

            // After a rejected edit, say that the files compile again, also when the fix restored the very policy
            // in force (a reverted edit), which is otherwise silent: the operator watching the errors needs the all-clear.
            var policy = result.Policy!;
            if (_rejectedReloads > 0)
            {
                Log.PolicyRecovered(_logger, _rejectedReloads, policy.Version);
                _rejectedReloads = 0;
                _lastReloadFailure = null;
            }

            if (policy.Version == _current?.Version)
            {
                _telemetry.Reloaded("unchanged");
                return result;
            }

            _current = policy;
            Log.PolicyLoaded(_logger, policy.Version, policy.Tenants.Count);
            Changed?.Invoke(policy);
            _telemetry.Reloaded("loaded");
            return result;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var result = Reload();
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"The policy in '{_options.Path}' has {result.Errors.Count} error(s):{Environment.NewLine}" +
                string.Join(Environment.NewLine, result.Errors));
        }

        if (_options.Watch)
        {
            _debounce = new Timer(_ => Reload());
            _watcher = new FileSystemWatcher(Path.GetFullPath(_options.Path!))
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += OnChange;
            _watcher.Created += OnChange;
            _watcher.Deleted += OnChange;
            _watcher.Renamed += OnChange;
            _watcher.EnableRaisingEvents = true;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_watcher is not null)
        {
            _watcher.EnableRaisingEvents = false;
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
    }

    private void OnChange(object sender, FileSystemEventArgs e) =>
        _debounce?.Change(_options.ReloadDebounce, Timeout.InfiniteTimeSpan);
}
