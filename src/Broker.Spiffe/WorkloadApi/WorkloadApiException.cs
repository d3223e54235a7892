// Broker.Spiffe — SPIFFE for .NET.

using Grpc.Core;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>A Workload API call failed or returned an unusable message. Messages are prefixed <c>workloadapi:</c>.</summary>
public sealed class WorkloadApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WorkloadApiException()
        : base("workloadapi: call failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public WorkloadApiException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public WorkloadApiException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = (innerException as RpcException)?.StatusCode;
    }

    /// <summary>The gRPC status, when the server (or the transport) returned one.</summary>
    public StatusCode? StatusCode { get; }

    /// <summary>
    /// True when retrying may help: everything except InvalidArgument (bad request, e.g. the header is
    /// missing) and Unimplemented (the server lacks the RPC) (spec §1). Malformed messages are retryable:
    /// the next message may be good.
    /// </summary>
    public bool IsRetryable => StatusCode is not (Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.Unimplemented);
}
