namespace Broker.Policy;

/// <summary>The policy in force. Readers take <see cref="Current"/> once per request.</summary>
internal interface IPolicyProvider
{
    /// <summary>The last policy that compiled; null only before the first successful load.</summary>
    PolicySet? Current { get; }

    /// <summary>Raised after a new policy took effect.</summary>
    event Action<PolicySet>? Changed;

    /// <summary>
    /// Set while the newest reload was rejected (the policy files on disk do not compile and <see cref="Current"/> is
    /// older than them); null once a reload succeeds again.
    /// </summary>
    PolicyReloadFailure? LastReloadFailure { get; }

    /// <summary>Reloads now. On failure the previous policy stays in force and the errors are returned.</summary>
    PolicyLoadResult Reload();
}

/// <summary>A rejected reload, for readiness.</summary>
/// <param name="At">When the reload ran.</param>
/// <param name="ErrorCount">How many errors it found (each one is in the log, event <c>PolicyError</c>).</param>
internal sealed record PolicyReloadFailure(DateTimeOffset At, int ErrorCount);
