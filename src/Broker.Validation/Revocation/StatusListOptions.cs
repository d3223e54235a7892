// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>
/// The Token Status List client (<c>AddBrokerStatusList</c>): which broker's list it polls, how big a list it accepts,
/// how often it polls and how long a list vouches for tokens. Validated when the host starts.
/// </summary>
public sealed class StatusListOptions
{
    /// <summary>
    /// The broker token scheme whose broker and tenant are followed: the list polled is that tenant's, at the
    /// <c>status_list_endpoint</c> of that broker's metadata. Default <see cref="BrokerTokenDefaults.AuthenticationScheme"/>.
    /// </summary>
    public string Scheme { get; set; } = BrokerTokenDefaults.AuthenticationScheme;

    /// <summary>
    /// The most indexes a list may have (default 1,048,576, the broker's default <c>Broker:StatusList:Capacity</c>; a
    /// multiple of 8, from 8 to 134,217,728). A list that decompresses to more than this many entries is refused
    /// (a ZLIB bomb would otherwise take this server's memory), and so is a list token longer than twice its size.
    /// Must be at least the broker's capacity.
    /// </summary>
    public int Capacity { get; set; } = 1_048_576;

    /// <summary>
    /// How old a list (by its <c>iat</c>) may be and still vouch for tokens (default 2 minutes, 1 second to 1 day): it
    /// is what <see cref="RevocationPolicy.MaxStaleness"/> of the scheme defaults to, so tokens are refused (fail
    /// closed) once the list could not be refreshed for this long, unless <see cref="RevocationPolicy.AllowWhenStale"/>;
    /// and the health check reports unhealthy past it. A list past its own <c>exp</c> never vouches.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The list is polled again after its <c>ttl</c> (draft-ietf-oauth-status-list §13.7), but at least this often
    /// (default 1 minute, 1 second to 1 hour, below <see cref="MaxAge"/>).
    /// </summary>
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Delay before the first retry of a failed poll. Default 1 second, at least 100 ms.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between failed polls. Default 30 seconds, at least <see cref="InitialRetryDelay"/>.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}
