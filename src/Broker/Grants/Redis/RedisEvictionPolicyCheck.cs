using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// Checks that Redis never evicts: with any <c>maxmemory-policy</c> but <c>noeviction</c>, a Redis under memory
/// pressure deletes keys — every key of the grant store has a TTL, so even the <c>volatile-*</c> policies reach
/// them — and a revocation mark that is evicted brings a revoked token back (fail open). Runs at start, where an
/// evicting policy stops the broker, and for <c>/readyz</c>, where it fails the <c>redis_eviction_policy</c> check.
/// </summary>
/// <remarks>
/// The policy is read from <c>INFO memory</c> (<c>maxmemory_policy</c>, the value <c>CONFIG GET maxmemory-policy</c>
/// returns) on every connected primary (all of a cluster's). StackExchange.Redis sends CONFIG and INFO only in admin
/// mode, which the shared connection does not enable; INFO is sent from a one-line script instead (Redis allows INFO,
/// not CONFIG, in scripts). Managed services that disable CONFIG usually still answer INFO; where neither answers, the
/// check says "unknown", logs a warning and does not fail, unless the operator has declared
/// <see cref="RedisOptions.AssumeNoEviction"/>. Replicas are not checked: they do not evict while they replicate.
/// </remarks>
internal sealed class RedisEvictionPolicyCheck : IHostedService
{
    private const string NoEviction = "noeviction";
    private const string ReadPolicyScript = "return redis.call('INFO', 'memory')";

    private readonly IConnectionMultiplexer _connection;
    private readonly RedisOptions _options;
    private readonly ILogger _logger;
    private EvictionPolicyState? _lastLogged;

    public RedisEvictionPolicyCheck(IConnectionMultiplexer connection, IOptions<RedisOptions> options, ILogger<RedisEvictionPolicyCheck> logger)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>
    /// Refuses to start on a readable, evicting policy. Redis being down at start is not a reason to refuse (the
    /// broker starts and reports not ready, as for the store itself); an unreadable policy only warns.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var status = await CheckAsync(cancellationToken);
        if (status.State == EvictionPolicyState.Evicting)
        {
            throw new InvalidOperationException(
                $"Redis runs with maxmemory-policy {status.Detail}: it may evict revocations. The grant store requires maxmemory-policy noeviction.");
        }

        if (status.State == EvictionPolicyState.Unavailable)
        {
            Log.RedisEvictionPolicyUncheckedAtStart(_logger);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Reads the policy of every connected primary now; never throws for an unreachable Redis.</summary>
    public async Task<EvictionPolicyStatus> CheckAsync(CancellationToken cancellationToken)
    {
        var primaries = _connection.GetServers().Where(s => s.IsConnected && !s.IsReplica && s.ServerType != ServerType.Sentinel).ToList();
        if (primaries.Count == 0)
        {
            return new EvictionPolicyStatus(EvictionPolicyState.Unavailable, "unavailable");
        }

        var readings = await Task.WhenAll(primaries.Select(s => ReadAsync(s, cancellationToken)));
        EvictionPolicyStatus status;
        if (readings.FirstOrDefault(r => r.Policy is not null && r.Policy != NoEviction) is { Policy: not null } evicting)
        {
            status = new EvictionPolicyStatus(EvictionPolicyState.Evicting, $"{evicting.Policy} on {evicting.EndPoint}");
            LogOnChange(status.State, () => Log.RedisEvictionPolicyEvicting(_logger, evicting.EndPoint, evicting.Policy));
        }
        else if (readings.FirstOrDefault(r => r.Refused) is { Refused: true } refused)
        {
            status = _options.AssumeNoEviction
                ? new EvictionPolicyStatus(EvictionPolicyState.AssumedNoEviction, "assumed noeviction")
                : new EvictionPolicyStatus(EvictionPolicyState.Unknown, "unknown");
            if (!_options.AssumeNoEviction)
            {
                LogOnChange(status.State, () => Log.RedisEvictionPolicyUnknown(_logger, refused.EndPoint, refused.Error));
            }
        }
        else if (readings.Any(r => r.Policy is null))
        {
            // A primary did not answer in time: this says nothing about its policy; the store check reports it.
            status = new EvictionPolicyStatus(EvictionPolicyState.Unavailable, "unavailable");
        }
        else
        {
            status = new EvictionPolicyStatus(EvictionPolicyState.NoEviction, NoEviction);
        }

        if (status.State is EvictionPolicyState.NoEviction or EvictionPolicyState.AssumedNoEviction)
        {
            _lastLogged = status.State;
        }

        return status;
    }

    /// <summary>Logs a finding once per change, so a probe every few seconds does not repeat it.</summary>
    private void LogOnChange(EvictionPolicyState state, Action log)
    {
        if (_lastLogged != state)
        {
            _lastLogged = state;
            log();
        }
    }

    private async Task<Reading> ReadAsync(IServer server, CancellationToken cancellationToken)
    {
        var endPoint = server.EndPoint.ToString() ?? "?";
        try
        {
            var info = (string?)await server.ExecuteAsync("EVAL", ReadPolicyScript, 0).WaitAsync(_options.OperationTimeout, cancellationToken);
            foreach (var line in (info ?? string.Empty).Split('\n'))
            {
                if (line.StartsWith("maxmemory_policy:", StringComparison.Ordinal))
                {
                    return new Reading(endPoint, line["maxmemory_policy:".Length..].Trim(), false, null);
                }
            }

            return new Reading(endPoint, null, true, null);
        }
        catch (RedisServerException e)
        {
            // INFO renamed, disabled or denied by ACL (NOPERM): the server will not say.
            return new Reading(endPoint, null, true, e);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return new Reading(endPoint, null, false, e);
        }
    }

    private sealed record Reading(string EndPoint, string? Policy, bool Refused, Exception? Error);
}

/// <summary>What <see cref="RedisEvictionPolicyCheck"/> found.</summary>
internal enum EvictionPolicyState
{
    /// <summary>Every primary runs <c>noeviction</c>.</summary>
    NoEviction,

    /// <summary>The policy could not be read, and the operator declared it <c>noeviction</c>.</summary>
    AssumedNoEviction,

    /// <summary>The policy could not be read (INFO refused) and nothing was declared: a warning, not a failure.</summary>
    Unknown,

    /// <summary>Redis did not answer; the grant store check reports that.</summary>
    Unavailable,

    /// <summary>A primary may evict keys: the broker must not serve.</summary>
    Evicting,
}

/// <summary>The state and the text <c>/readyz</c> shows for it.</summary>
internal sealed record EvictionPolicyStatus(EvictionPolicyState State, string Detail);
