namespace Broker.Keys;

/// <summary>Signing keys, bound from <c>Broker:Keys</c>.</summary>
public sealed class KeysOptions
{
    /// <summary>
    /// PEM files holding EC P-256 private keys. The first signs; the rest are published in the JWKS
    /// so tokens they signed still verify. Empty by default.
    /// </summary>
    public IList<string> SigningKeyFiles { get; } = [];

    /// <summary>
    /// Generate a key at start when no file is configured. Off by default: replicas would each
    /// publish a different key and a restart would invalidate every token. <c>--dev</c> turns it on.
    /// </summary>
    public bool AllowEphemeralKey { get; set; }

    /// <summary><c>Cache-Control: max-age</c> of the JWKS response. Default 5 minutes.</summary>
    public TimeSpan JwksMaxAge { get; set; } = TimeSpan.FromMinutes(5);
}
