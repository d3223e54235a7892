namespace Broker.Trust;

/// <summary>
/// How <see cref="TrustBundleRegistry"/> fetches from bundle endpoints. Set in code, not bound from configuration: the
/// timeout comes from <c>Broker:Subjects:FetchTimeout</c> (the composition copies it here).
/// </summary>
internal sealed class BundleFetchOptions
{
    /// <summary>Timeout of one fetch, the body included. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Adjusts the HTTP handler of every bundle endpoint after the broker's settings (a proxy, or a private root in
    /// tests). Must not turn automatic redirects back on: only the URLs written in policy are fetched.
    /// </summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; set; }
}
