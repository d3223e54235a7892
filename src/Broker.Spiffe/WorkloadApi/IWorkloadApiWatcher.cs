// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.WorkloadApi;

/// <summary>Receives updates and errors from a Workload API watch.</summary>
/// <typeparam name="T">The update type.</typeparam>
public interface IWorkloadApiWatcher<in T>
{
    /// <summary>A new complete state; it replaces the previous one entirely (spec §1).</summary>
    void OnUpdate(T update);

    /// <summary>
    /// A failed call, a dropped connection or a discarded message. The watch keeps retrying unless the error is
    /// not retryable. A <see cref="Grpc.Core.StatusCode.PermissionDenied"/> error means the workload has no
    /// identity now: stop using the SVIDs it had (spec §1).
    /// </summary>
    void OnError(WorkloadApiException exception);
}
