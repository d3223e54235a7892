namespace Broker.Grants;

/// <summary>The outcome of <see cref="IGrantStore.RecordAsync"/> when the store answered.</summary>
internal enum RecordGrantResult
{
    /// <summary>The grant and its issuance audit event are recorded: the token may be returned.</summary>
    Recorded = 0,

    /// <summary>
    /// Nothing was recorded: the grant's parent (<see cref="GrantRecord.ParentGrantId"/>) was revoked, has expired or
    /// is unknown when the store looked, in the same atomic step that would have recorded the grant. The token must
    /// not be returned: a re-exchange lost the race against a revocation of the token it narrows.
    /// </summary>
    ParentNotActive = 1,

    /// <summary>
    /// Nothing was recorded: every index of the tenant's status list is held by a token that has not expired (plus
    /// <see cref="StatusListOptions.ReuseMargin"/>). The token must not be minted without a status (fail
    /// closed); the exchange answers 503 until indexes come free, or <see cref="StatusListOptions.Capacity"/>
    /// is raised.
    /// </summary>
    StatusListFull = 2,

    /// <summary>
    /// Nothing was recorded: the task's live grants and this one together would hold every capability of a forbidden
    /// combination (<see cref="TaskLimitCheck.ForbiddenRemainders"/>).
    /// </summary>
    TaskForbiddenCombination = 3,

    /// <summary>Nothing was recorded: the task has had <see cref="TaskLimitCheck.MaxGrants"/> grants already.</summary>
    TaskGrantLimit = 4,

    /// <summary>Nothing was recorded: <see cref="TaskLimitCheck.MaxDuration"/> has passed since the task's first grant.</summary>
    TaskDurationExceeded = 5,
}

/// <summary>What <see cref="IGrantStore.RecordWithStatusAsync"/> did.</summary>
/// <param name="Result">Whether the grant was recorded.</param>
/// <param name="StatusIndex">
/// When recorded with the status list on: the grant's index in its tenant's list, for the token's <c>status</c> claim.
/// </param>
internal readonly record struct RecordGrantOutcome(RecordGrantResult Result, int? StatusIndex);
