namespace Broker.Policy;

/// <summary>The question an exchange puts to policy.</summary>
/// <param name="Subject">The validated subject: whose capabilities these would be.</param>
/// <param name="Actor">The validated actor of a delegation, or null.</param>
/// <param name="Capabilities">The capabilities asked for, distinct.</param>
/// <param name="Resource">The RFC 8707 resource asked for, or null.</param>
/// <param name="Audience">The audience asked for, or null (at least one of the two is set).</param>
/// <param name="Purpose">The task's purpose (<see cref="Grammar.NoPurpose"/> when it declared none).</param>
/// <param name="RequestedLifetime">The lifetime asked for (<c>expires_in</c>), or null for the default.</param>
public sealed record PolicyRequest(
    WorkloadIdentity Subject,
    WorkloadIdentity? Actor,
    IReadOnlyList<string> Capabilities,
    string? Resource,
    string? Audience,
    string Purpose,
    TimeSpan? RequestedLifetime);
