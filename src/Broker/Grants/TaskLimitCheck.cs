namespace Broker.Grants;

/// <summary>
/// What a grant store checks about a grant's task when it records the grant, in the same atomic step as the record
/// (policy's <c>task_limits</c>, docs/policy.md "Task limits"): two exchanges of one task that race each other are
/// decided one after the other, so at most one of two halves of a forbidden combination is ever recorded.
/// </summary>
/// <remarks>
/// Checked in this order, each refusal writing nothing: the task is past <see cref="MaxDuration"/> since its first grant
/// (<see cref="RecordGrantResult.TaskDurationExceeded"/>); it has had <see cref="MaxGrants"/> grants
/// (<see cref="RecordGrantResult.TaskGrantLimit"/>); its live grants (unexpired and not revoked) hold every capability of
/// one of <see cref="ForbiddenRemainders"/> (<see cref="RecordGrantResult.TaskForbiddenCombination"/>). A task is
/// remembered for as long as it has an unexpired grant and, with <see cref="MaxDuration"/>, until twice that duration
/// after its first grant, so that a task past its end stays refused for as long again rather than starting over.
/// </remarks>
internal sealed record TaskLimitCheck
{
    /// <summary>
    /// Most live grants of one task read to decide a forbidden combination. A task with more is refused as over its grant
    /// limit when a grant touches a combination: the check runs inside one Redis script and must stay bounded.
    /// </summary>
    public const int MaxLiveGrantsChecked = 1000;

    /// <summary>Most grants the task may have, this one included; null for no limit.</summary>
    public int? MaxGrants { get; init; }

    /// <summary>No grant once this long has passed since the task's first grant; null for no limit.</summary>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>
    /// For each forbidden combination the grant touches, the capabilities of it the grant does not carry: the task's
    /// live grants must not hold all of any of these together.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> ForbiddenRemainders { get; init; } = [];

    /// <summary>True when there is nothing to check or count.</summary>
    public bool IsEmpty => MaxGrants is null && MaxDuration is null && ForbiddenRemainders.Count == 0;
}
