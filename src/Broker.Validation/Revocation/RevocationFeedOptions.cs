// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Revocation;

/// <summary>
/// The broker revocation feed client (<c>AddBrokerRevocationFeed</c>): where it connects, with which credential,
/// and how it reconnects. Validated when the host starts.
/// </summary>
public sealed class RevocationFeedOptions
{
    /// <summary>
    /// The broker token scheme whose broker is followed (its <see cref="BrokerTokenOptions.Broker"/> metadata names
    /// the feed). Default <see cref="BrokerTokenDefaults.AuthenticationScheme"/>.
    /// </summary>
    public string Scheme { get; set; } = BrokerTokenDefaults.AuthenticationScheme;

    /// <summary>
    /// This server's own workload credential (its JWT-SVID or OIDC token), sent as the feed's bearer token: the broker
    /// answers the revocations of the credential's tenant. Called before every connection, so a rotating credential
    /// is picked up. Required. Never logged.
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? Credential { get; set; }

    /// <summary>
    /// How long a revoked entry without <c>exp</c> is kept: the broker's longest token lifetime. Also bounds how long a
    /// <c>reset</c> refuses older tokens. Default 1 hour.
    /// </summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The feed is healthy while connected and heard from (an event or heartbeat) within this window. Default 45 seconds
    /// (three of the broker's 15 second heartbeats); silence for this long also drops and reopens the connection.
    /// </summary>
    public TimeSpan FreshnessWindow { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>Backoff before the first reconnection attempt when the broker sent no <c>retry:</c>. Default 1 second.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest backoff between failed attempts (also caps the broker's <c>retry:</c>). Default 1 minute.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest line of the event stream accepted, in characters; a longer one drops the connection. Default 8192.</summary>
    public int MaxLineLength { get; set; } = 8192;

    /// <summary>Largest event (all its data lines) accepted, in characters; a larger one drops the connection. Default 16384.</summary>
    public int MaxEventLength { get; set; } = 16384;

    /// <summary>
    /// Refuse tokens issued before a connection opened without a position to resume from (the first one, or any
    /// before the first event was received), until they expire. On by default: the feed then replays no history
    /// ("from now"), so a grant revoked before, or between connections, would otherwise be accepted. Turn off only
    /// where such revocations reach this server some other way.
    /// </summary>
    public bool RefuseTokensIssuedBeforeGap { get; set; } = true;
}
