namespace Broker.Cli;

/// <summary>Where the broker is and how to authenticate to it, resolved from options and environment.</summary>
/// <param name="BaseUri">The broker's URL as given (<c>--broker</c> or <c>BROKER_URL</c>).</param>
/// <param name="Token">The admin's bearer token. Never printed.</param>
/// <param name="Timeout">Per-request timeout (<c>--timeout</c>).</param>
internal sealed record BrokerConnection(Uri BaseUri, string Token, TimeSpan Timeout)
{
    /// <summary><c>{broker}/admin/v1/</c>, keeping any path prefix the broker is mounted under.</summary>
    public Uri AdminBaseUri { get; } = new(new Uri(BaseUri.AbsoluteUri.TrimEnd('/') + "/"), "admin/v1/");

    /// <summary><c>{broker}/catalog/v1/</c>, keeping any path prefix the broker is mounted under (docs/catalog.md).</summary>
    public Uri CatalogBaseUri { get; } = new(new Uri(BaseUri.AbsoluteUri.TrimEnd('/') + "/"), "catalog/v1/");

    /// <summary>The token without the secret, for <c>ToString</c> in logs and debuggers.</summary>
    public override string ToString() => $"BrokerConnection {{ BaseUri = {BaseUri}, Timeout = {Timeout} }}";
}
