namespace Broker.Grants.Redis;

/// <summary>
/// Log messages of the Redis grant store, in the Grants band (EventIds 2000–2099, shared with <c>Grants/Log.cs</c>).
/// Method names are the EventId names users' telemetry matches on: never rename one. Never log a token, a key or
/// the Redis password.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "Grant store: Redis at {Configuration}, key prefix '{KeyPrefix}'.", EventName = nameof(RedisGrantStoreSelected))]
    public static partial void RedisGrantStoreSelected(ILogger logger, RedisConfigurationLogValue configuration, string keyPrefix);

    [LoggerMessage(2002, LogLevel.Error, "Grant store operation {Operation} failed: Redis is unavailable.", EventName = nameof(GrantStoreUnavailable))]
    public static partial void GrantStoreUnavailable(ILogger logger, string operation, Exception exception);

    [LoggerMessage(2003, LogLevel.Error, "Grant store operation {Operation} timed out after {TimeoutMs} ms.", EventName = nameof(GrantStoreTimedOut))]
    public static partial void GrantStoreTimedOut(ILogger logger, string operation, double timeoutMs, Exception exception);

    [LoggerMessage(2004, LogLevel.Information, "Grant {GrantId} of tenant {Tenant} revoked by {RevokedBy}.", EventName = nameof(GrantRevoked))]
    public static partial void GrantRevoked(ILogger logger, string grantId, string tenant, string revokedBy);

    [LoggerMessage(2005, LogLevel.Information, "{Count} grants of tenant {Tenant} revoked by {RevokedBy} (subject: {Subject}, task: {TaskId}).", EventName = nameof(GrantsRevokedInBulk))]
    public static partial void GrantsRevokedInBulk(ILogger logger, int count, string tenant, string revokedBy, string? subject, string? taskId);

    [LoggerMessage(2006, LogLevel.Warning, "Ignored a malformed revocation announcement on the Redis channel.", EventName = nameof(RevocationNoticeMalformed))]
    public static partial void RevocationNoticeMalformed(ILogger logger, Exception? exception);

    [LoggerMessage(2007, LogLevel.Debug, "Subscribed to revocation announcements on channel {Channel}.", EventName = nameof(RevocationChannelSubscribed))]
    public static partial void RevocationChannelSubscribed(ILogger logger, string channel);

    [LoggerMessage(2008, LogLevel.Warning, "Grant store readiness probe failed.", EventName = nameof(ReadinessProbeFailed))]
    public static partial void ReadinessProbeFailed(ILogger logger, Exception exception);

    [LoggerMessage(2009, LogLevel.Information, "{Count} grants derived from grant {GrantId} of tenant {Tenant} revoked with it.", EventName = nameof(DescendantsRevoked))]
    public static partial void DescendantsRevoked(ILogger logger, int count, string grantId, string tenant);

    [LoggerMessage(2010, LogLevel.Error, "Grant store operation {Operation} failed closed: {Acknowledged} of {Required} Redis replicas acknowledged the write in time.", EventName = nameof(ReplicasDidNotAcknowledge))]
    public static partial void ReplicasDidNotAcknowledge(ILogger logger, string operation, long acknowledged, int required);

    [LoggerMessage(2011, LogLevel.Error, "Redis at {EndPoint} has maxmemory-policy '{Policy}': under memory pressure it may evict grants and revocation marks, and revoked tokens would come back. Set maxmemory-policy noeviction.", EventName = nameof(RedisEvictionPolicyEvicting))]
    public static partial void RedisEvictionPolicyEvicting(ILogger logger, string endPoint, string policy);

    [LoggerMessage(2012, LogLevel.Warning, "Could not read the maxmemory-policy of Redis at {EndPoint} (INFO unavailable to this client). Make sure it is noeviction, then set Broker:Redis:AssumeNoEviction=true.", EventName = nameof(RedisEvictionPolicyUnknown))]
    public static partial void RedisEvictionPolicyUnknown(ILogger logger, string endPoint, Exception? exception);

    [LoggerMessage(2013, LogLevel.Warning, "Could not check the Redis maxmemory-policy at start: Redis is unavailable. /readyz keeps checking.", EventName = nameof(RedisEvictionPolicyUncheckedAtStart))]
    public static partial void RedisEvictionPolicyUncheckedAtStart(ILogger logger);
}

/// <summary>
/// Logs a Redis configuration without its password: <c>ConfigurationOptions.ToString(includePassword: false)</c>.
/// </summary>
internal readonly struct RedisConfigurationLogValue(StackExchange.Redis.ConfigurationOptions options)
{
    public override string ToString() => options.ToString(includePassword: false);
}
