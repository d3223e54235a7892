using Microsoft.Extensions.Options;

namespace Broker.RevocationFeed;

/// <summary>
/// The revocation feed (<c>GET /revocations/v1/events</c>), bound from <c>Broker:Revocation</c>. Defaults:
/// <see cref="FeedHeartbeat"/> 15 seconds, <see cref="FeedMaxConnectionLifetime"/> 30 minutes,
/// <see cref="FeedMaxConnections"/> 1,000 per replica.
/// </summary>
internal sealed class RevocationFeedOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Revocation";

    /// <summary>
    /// How long a feed may stay silent before the broker writes a <c>: heartbeat</c> comment, so proxies with an
    /// idle timeout keep the connection and clients can tell a quiet feed from a dead one. 100 ms to 10 minutes.
    /// </summary>
    public TimeSpan FeedHeartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// When the broker ends a feed connection (the client reconnects with <c>Last-Event-ID</c>), so that
    /// connections rebalance across replicas after a scale-out. 1 second to 24 hours.
    /// </summary>
    public TimeSpan FeedMaxConnectionLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Open feed connections one replica serves; beyond it a new one gets 503. 1 to 100,000.</summary>
    public int FeedMaxConnections { get; set; } = 1000;
}

/// <summary>Fails the start on feed settings out of their ranges.</summary>
internal sealed class RevocationFeedOptionsValidator : IValidateOptions<RevocationFeedOptions>
{
    public ValidateOptionsResult Validate(string? name, RevocationFeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (options.FeedHeartbeat < TimeSpan.FromMilliseconds(100) || options.FeedHeartbeat > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{RevocationFeedOptions.SectionName}:FeedHeartbeat must be between 100 milliseconds and 10 minutes.");
        }

        if (options.FeedMaxConnectionLifetime < TimeSpan.FromSeconds(1) || options.FeedMaxConnectionLifetime > TimeSpan.FromHours(24))
        {
            errors.Add($"{RevocationFeedOptions.SectionName}:FeedMaxConnectionLifetime must be between 1 second and 24 hours.");
        }

        if (options.FeedMaxConnections is < 1 or > 100_000)
        {
            errors.Add($"{RevocationFeedOptions.SectionName}:FeedMaxConnections must be between 1 and 100,000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
