namespace Broker.Tokens;

/// <summary>Broker-wide settings, bound from <c>Broker</c>.</summary>
internal sealed class BrokerOptions
{
    /// <summary>
    /// The issuer identifier (RFC 8414 §2): the <c>iss</c> of every token and the base of every
    /// endpoint in the metadata. An https URL without query or fragment. Required.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// Set by the <c>--dev</c> flag only: loopback only, embedded defaults, not for production. Not bound from
    /// configuration (<c>Broker:DevMode</c> in a file, an environment variable or the command line is ignored).
    /// </summary>
    public bool DevMode { get; internal set; }
}
