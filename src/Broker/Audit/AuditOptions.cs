namespace Broker.Audit;

/// <summary>The audit sink for log shippers, bound from <c>Broker:Audit</c>. Off unless <see cref="File"/> is set.</summary>
internal sealed class AuditOptions
{
    /// <summary>
    /// Where to append every audit event as one JSON line (schema in docs/audit.md): a file path, or <c>-</c> for
    /// standard output. Empty: no sink (the events still go to the store and the <c>Broker.Audit</c> log category).
    /// </summary>
    public string? File { get; set; }

    /// <summary>How often buffered lines are flushed to the file; also on shutdown. 0.05-10 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
