namespace Broker.Trust;

/// <summary>The broker's own SPIFFE Workload API connection and TLS, bound from <c>Broker:Spiffe</c>.</summary>
internal sealed class SpiffeAgentOptions
{
    /// <summary>
    /// The Workload API address (<c>unix:///run/spire/agent/public/api.sock</c> or
    /// <c>tcp://IP:port</c>). Default: the <c>SPIFFE_ENDPOINT_SOCKET</c> environment variable; when
    /// neither is set the broker runs without a Workload API.
    /// </summary>
    public string? EndpointSocket { get; set; }

    /// <summary>
    /// Serve HTTPS with the broker's own X509-SVID from the Workload API, rotating without a restart.
    /// Off by default (Kestrel's own certificate configuration applies).
    /// </summary>
    public bool ServeTls { get; set; }

    /// <summary>
    /// Ask HTTPS clients for a certificate, so workloads can present an X509-SVID as their subject
    /// (RFC 8705 mutual TLS). Off by default.
    /// </summary>
    public bool RequestClientCertificates { get; set; }

    /// <summary>How long start waits for the Workload API's first answer. Default 30 s.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The configured address, or the environment's.</summary>
    internal string? ResolvedEndpoint =>
        string.IsNullOrWhiteSpace(EndpointSocket) ? Environment.GetEnvironmentVariable(Spiffe.WorkloadApi.WorkloadApiAddress.EnvironmentVariable) : EndpointSocket;
}
