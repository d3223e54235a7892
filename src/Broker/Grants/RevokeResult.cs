namespace Broker.Grants;

/// <summary>
/// The outcome of revoking one grant: exactly one of <see cref="Revoked"/>, <see cref="AlreadyRevoked"/> or
/// <see cref="GrantNotFound"/>. Revoking is idempotent: a second revocation changes nothing and says so.
/// </summary>
internal abstract record RevokeResult
{
    private protected RevokeResult()
    {
    }
}

/// <summary>This call revoked the grant; <paramref name="Entry"/> is its place in the revocation stream.</summary>
internal sealed record Revoked(RevocationEntry Entry) : RevokeResult
{
    /// <summary>
    /// The grants derived from this one (by re-exchange or delegation, at any depth) that this call revoked with it,
    /// each with its own stream entry, parents before their children; empty when there were none.
    /// </summary>
    public IReadOnlyList<RevocationEntry> Descendants { get; init; } = [];
}

/// <summary>The grant had been revoked before; <paramref name="Revocation"/> is that first revocation, unchanged.</summary>
internal sealed record AlreadyRevoked(GrantRevocation Revocation) : RevokeResult;

/// <summary>No such grant: the ID is unknown, malformed, or the grant has expired.</summary>
internal sealed record GrantNotFound : RevokeResult
{
    /// <summary>The single instance.</summary>
    public static GrantNotFound Instance { get; } = new();
}
