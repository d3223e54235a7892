// Broker.Spiffe — SPIFFE for .NET.

using Broker.Spiffe.Svids;
using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.WorkloadApi;

/// <summary>Options shared by <see cref="X509Source"/>, <see cref="JwtSource"/> and <see cref="BundleSource"/>.</summary>
public class WorkloadApiSourceOptions
{
    /// <summary>
    /// A client to share. The source does not dispose it. When null, the source creates its own from
    /// <see cref="ClientOptions"/> and disposes it with the source.
    /// </summary>
    public WorkloadApiClient? Client { get; set; }

    /// <summary>Options for the source's own client when <see cref="Client"/> is null. Default: address from <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    public WorkloadApiClientOptions? ClientOptions { get; set; }

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock (JWT-SVID cache). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>Options for <see cref="X509Source"/>.</summary>
public sealed class X509SourceOptions : WorkloadApiSourceOptions
{
    /// <summary>
    /// Chooses the SVID to serve from each update, e.g. by <see cref="X509Svid.Hint"/>. Default: the first
    /// (the Workload API's default identity, spec §1).
    /// </summary>
    public Func<IReadOnlyList<X509Svid>, X509Svid>? SvidPicker { get; set; }
}
