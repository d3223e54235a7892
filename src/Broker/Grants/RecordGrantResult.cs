namespace Broker.Grants;

/// <summary>The outcome of <see cref="IGrantStore.RecordAsync"/> when the store answered.</summary>
public enum RecordGrantResult
{
    /// <summary>The grant and its issuance audit event are recorded: the token may be returned.</summary>
    Recorded = 0,

    /// <summary>
    /// Nothing was recorded: the grant's parent (<see cref="GrantRecord.ParentGrantId"/>) was revoked, has expired or
    /// is unknown when the store looked, in the same atomic step that would have recorded the grant. The token must
    /// not be returned: a re-exchange lost the race against a revocation of the token it narrows.
    /// </summary>
    ParentNotActive = 1,
}
