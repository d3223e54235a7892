// Broker.Spiffe — SPIFFE for .NET.

using System.Threading.Channels;
using Broker.Spiffe.WorkloadApi;

namespace Broker.Spiffe.Tests.TestSupport;

/// <summary>Records watch updates and errors so tests can await them (no sleeps).</summary>
public sealed class RecordingWatcher<T> : IWorkloadApiWatcher<T>
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly Channel<T> _updates = Channel.CreateUnbounded<T>();
    private readonly Channel<WorkloadApiException> _errors = Channel.CreateUnbounded<WorkloadApiException>();

    public void OnUpdate(T update) => _updates.Writer.TryWrite(update);

    public void OnError(WorkloadApiException exception) => _errors.Writer.TryWrite(exception);

    public async Task<T> NextUpdateAsync() => await _updates.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    public async Task<WorkloadApiException> NextErrorAsync() => await _errors.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    public bool TryTakeUpdate(out T? update) => _updates.Reader.TryRead(out update);

    public int PendingErrors => _errors.Reader.Count;
}
