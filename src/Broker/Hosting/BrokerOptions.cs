namespace Broker.Hosting;

/// <summary>Broker-wide settings, bound from <c>Broker</c>.</summary>
public sealed class BrokerOptions
{
    /// <summary>
    /// The issuer identifier (RFC 8414 §2): the <c>iss</c> of every token and the base of every
    /// endpoint in the metadata. An https URL without query or fragment. Required.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>Set by <c>--dev</c>: loopback only, embedded defaults, not for production.</summary>
    public bool DevMode { get; set; }
}
