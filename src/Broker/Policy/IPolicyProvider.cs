namespace Broker.Policy;

/// <summary>The policy in force. Readers take <see cref="Current"/> once per request.</summary>
public interface IPolicyProvider
{
    /// <summary>The last policy that compiled; null only before the first successful load.</summary>
    PolicySet? Current { get; }

    /// <summary>Raised after a new policy took effect.</summary>
    event Action<PolicySet>? Changed;

    /// <summary>Reloads now. On failure the previous policy stays in force and the errors are returned.</summary>
    PolicyLoadResult Reload();
}
