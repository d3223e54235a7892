using Broker.Policy;

namespace Broker.Exchange;

/// <summary>Input limits of the token endpoint, bound from <c>Broker:Exchange</c>.</summary>
internal sealed class ExchangeOptions
{
    /// <summary>Largest request body accepted, in bytes. Default 32 KiB: two 8 KiB tokens and the rest.</summary>
    public long MaxRequestBytes { get; set; } = 32 * 1024;

    /// <summary>Most capabilities in one token. Default 16.</summary>
    public int MaxCapabilities { get; set; } = Grammar.DefaultMaxCapabilities;

    /// <summary>Longest <c>audience</c> value. Default 256.</summary>
    public int MaxAudienceLength { get; set; } = Grammar.DefaultMaxAudienceLength;

    /// <summary>
    /// Accept <c>http://</c> loopback resource URIs (dev and tests only). Off by default: MCP
    /// resource indicators are https.
    /// </summary>
    public bool AllowInsecureLoopbackResources { get; set; }
}
