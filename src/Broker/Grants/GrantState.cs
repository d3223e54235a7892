namespace Broker.Grants;

/// <summary>What the store knows about a grant ID right now (status list, introspection, verifiers).</summary>
internal enum GrantState
{
    /// <summary>Never recorded, malformed, or expired long enough ago that the record is gone.</summary>
    Unknown = 0,

    /// <summary>Recorded, not expired, not revoked: the token may be honoured.</summary>
    Active = 1,

    /// <summary>Revoked (whether or not it has expired since): the token must not be honoured.</summary>
    Revoked = 2,

    /// <summary>Expired without being revoked; kept for the configured retention.</summary>
    Expired = 3,
}
