// Broker.Spiffe — SPIFFE for .NET.

using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>Options for <see cref="WorkloadApiClient"/>.</summary>
public sealed class WorkloadApiClientOptions
{
    /// <summary>The Workload API address. Default: read <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    public WorkloadApiAddress? Address { get; set; }

    /// <summary>Retry delays for watches. Default <see cref="LinearBackoffStrategy"/> (1 s steps, capped at 30 s).</summary>
    public IBackoffStrategy BackoffStrategy { get; set; } = new LinearBackoffStrategy();

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock for retry delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
