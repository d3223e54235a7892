// Broker.Spiffe — SPIFFE for .NET.

using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>
/// One background watch feeding a source: holds the latest complete update, signals the first one, and
/// drops the state when the Workload API says the workload has no identity (PermissionDenied, spec §1)
/// or when the watch stops for good (fail closed).
/// </summary>
internal sealed class SourceWatch<T> : IWorkloadApiWatcher<T>
    where T : class
{
    private readonly string _source;
    private readonly ILogger _logger;
    private readonly Action _changed;
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? _current;
    private Task _task = Task.CompletedTask;

    public SourceWatch(string source, ILogger logger, Action changed)
    {
        _source = source;
        _logger = logger;
        _changed = changed;
    }

    public T? Current => Volatile.Read(ref _current);

    public Task FirstUpdate => _first.Task;

    public Task Completion => _task;

    public void Start(Func<IWorkloadApiWatcher<T>, CancellationToken, Task> watch, CancellationToken stop) =>
        _task = Task.Run(
            async () =>
            {
                try
                {
                    await watch(this, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    _first.TrySetCanceled(stop);
                }
#pragma warning disable CA1031 // Any end of the watch (non-retryable status, a client disposed underneath us) fails closed.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    Log.SourceWatchStopped(_logger, _source, ex);
                    _first.TrySetException(ex);
                    if (Interlocked.Exchange(ref _current, null) is not null)
                    {
                        _changed();
                    }
                }
            },
            CancellationToken.None);

    public void OnUpdate(T update)
    {
        Volatile.Write(ref _current, update);
        Log.SourceUpdated(_logger, _source);
        _changed();

        // Last, so that CreateAsync returns only after the first update's event has been raised: a handler
        // subscribed after CreateAsync sees only later changes.
        _first.TrySetResult();
    }

    public void OnError(WorkloadApiException exception)
    {
        if (exception.StatusCode == StatusCode.PermissionDenied && Interlocked.Exchange(ref _current, null) is not null)
        {
            Log.SourceIdentityRevoked(_logger, _source);
            _changed();
        }
    }
}
