using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.Telemetry;

namespace Broker.Grants;

/// <summary>
/// Grant-store metrics and spans (meter and activity source <c>Broker.Grants</c>), the same for Redis and memory:
/// the duration of every store operation, its failures, and the grants revoked. Each store measures its public
/// operations through <see cref="MeasureAsync{T}"/>, so a span and a sample cover exactly what a caller waited for
/// (a Redis script and the replicas' <c>WAIT</c> together).
/// </summary>
/// <remarks>
/// Tags: <c>db.system.name</c> (<c>redis</c> or <c>memory</c>), <c>db.operation.name</c> (one of
/// <see cref="GrantStoreOperation"/>), and <c>error.type</c> on failure (<c>timeout</c>, <c>unavailable</c>, or the
/// exception's type for a bug). Never a grant ID, tenant or subject: those are unbounded.
/// </remarks>
internal sealed class GrantStoreTelemetry
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "Broker.Grants";

    /// <summary>The store operations' spans.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Histogram<double>? _duration;
    private readonly Counter<long>? _errors;
    private readonly Counter<long>? _revoked;
    private readonly Histogram<int>? _recordBatch;
    private readonly Histogram<int>? _readBatch;
    private readonly KeyValuePair<string, object?> _system;

    /// <param name="meterFactory">The container's meter factory.</param>
    /// <param name="system">The <c>db.system.name</c>: <c>redis</c> or <c>memory</c>.</param>
    public GrantStoreTelemetry(IMeterFactory meterFactory, string system)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _system = new("db.system.name", system);
        var meter = meterFactory.Create(Name);
        _duration = meter.CreateHistogram(
            "broker.grant_store.operation.duration", "s", "Duration of grant-store operations, by store, operation and (on failure) error type.",
            advice: TelemetryBuckets.Seconds);
        _errors = meter.CreateCounter<long>(
            "broker.grant_store.errors", "{error}", "Grant-store operations that failed: timeout, unavailable (the caller failed closed), or a bug's exception type.");
        _revoked = meter.CreateCounter<long>(
            "broker.revocations", "{grant}", "Grants revoked, by scope: grant (the one named), descendant (revoked with its parent), bulk (by task, subject or tenant).");
        _recordBatch = meter.CreateHistogram<int>(
            "broker.grant_store.record.batch_size", "{grant}", "Grants recorded together in one store call (group commit), per call.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _readBatch = meter.CreateHistogram<int>(
            "broker.grant_store.read.batch_size", "{grant}", "Single-grant reads (introspection, state checks) served together in one store call, per call.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
    }

    private GrantStoreTelemetry()
    {
        _system = new("db.system.name", "none");
    }

    /// <summary>For a store built without a container (tests, benchmarks): measures nothing, adds no span.</summary>
    public static GrantStoreTelemetry None { get; } = new();

    /// <summary>Runs one store operation, measured and under a span; rethrows whatever it throws.</summary>
    public ValueTask<T> MeasureAsync<T>(GrantStoreOperation operation, Func<ValueTask<T>> call)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(call);
        return _duration is null ? call() : MeasureCoreAsync(operation, call);
    }

    /// <inheritdoc cref="MeasureAsync{T}"/>
    public async ValueTask MeasureAsync(GrantStoreOperation operation, Func<ValueTask> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        await MeasureAsync(operation, async () =>
        {
            await call();
            return true;
        });
    }

    /// <summary>Counts what one revocation call revoked.</summary>
    public void Revoked(RevokeResult result)
    {
        if (_revoked is not null && result is Revoked revoked)
        {
            _revoked.Add(1, _system, new("broker.revocation.scope", "grant"));
            if (revoked.Descendants.Count > 0)
            {
                _revoked.Add(revoked.Descendants.Count, _system, new("broker.revocation.scope", "descendant"));
            }
        }
    }

    /// <summary>Measures one store call that recorded <paramref name="grants"/> grants together (group commit).</summary>
    public void RecordedTogether(int grants) => _recordBatch?.Record(grants, _system);

    /// <summary>Measures one store call that read <paramref name="grants"/> single-grant lookups together.</summary>
    public void ReadTogether(int grants) => _readBatch?.Record(grants, _system);

    /// <summary>Counts what one bulk revocation revoked.</summary>
    public void RevokedInBulk(int count)
    {
        if (_revoked is not null && count > 0)
        {
            _revoked.Add(count, _system, new("broker.revocation.scope", "bulk"));
        }
    }

    /// <summary>
    /// The <c>error.type</c> of a failure: <c>timeout</c> and <c>unavailable</c> for the store's expected failures
    /// (<see cref="GrantStoreUnavailableException"/>), null for a cancelled wait (the caller went away: not a store
    /// error), the exception's type otherwise (a bug upstream or in the store).
    /// </summary>
    internal static string? ErrorType(Exception exception) => exception switch
    {
        GrantStoreUnavailableException { InnerException: TimeoutException } => "timeout",
        GrantStoreUnavailableException => "unavailable",
        OperationCanceledException => null,
        _ => exception.GetType().FullName,
    };

    private async ValueTask<T> MeasureCoreAsync<T>(GrantStoreOperation operation, Func<ValueTask<T>> call)
    {
        using var span = Source.StartActivity(operation.SpanName, ActivityKind.Client);
        span?.SetTag(_system.Key, _system.Value);
        span?.SetTag("db.operation.name", operation.Name);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call();
            _duration!.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _system, operation.Tag);
            return result;
        }
        catch (Exception e)
        {
            var errorType = ErrorType(e) ?? "cancelled";
            _duration!.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _system, operation.Tag, new("error.type", errorType));
            if (errorType != "cancelled")
            {
                _errors!.Add(1, _system, operation.Tag, new("error.type", errorType));
                span?.SetStatus(ActivityStatusCode.Error, errorType);
                span?.SetTag("error.type", errorType);
            }

            throw;
        }
    }
}

/// <summary>A grant-store operation as telemetry names it (<c>db.operation.name</c>); names are a contract.</summary>
internal sealed class GrantStoreOperation
{
    public static readonly GrantStoreOperation Record = new("record");
    public static readonly GrantStoreOperation ReadStatusList = new("read_status_list");
    public static readonly GrantStoreOperation Find = new("find");
    public static readonly GrantStoreOperation GetState = new("get_state");
    public static readonly GrantStoreOperation AppendAudit = new("append_audit");
    public static readonly GrantStoreOperation ReadAudit = new("read_audit");
    public static readonly GrantStoreOperation Revoke = new("revoke");
    public static readonly GrantStoreOperation RevokeAll = new("revoke_all");
    public static readonly GrantStoreOperation List = new("list");
    public static readonly GrantStoreOperation ReadRevocations = new("read_revocations");
    public static readonly GrantStoreOperation GetRevocationPosition = new("get_revocation_position");
    public static readonly GrantStoreOperation SubscribeRevocations = new("subscribe_revocations");

    private GrantStoreOperation(string name)
    {
        Name = name;
        SpanName = "broker.grant_store." + name;
        Tag = new("db.operation.name", name);
    }

    /// <summary>The <c>db.operation.name</c>.</summary>
    public string Name { get; }

    /// <summary>The span's name.</summary>
    public string SpanName { get; }

    /// <summary>The metric tag.</summary>
    public KeyValuePair<string, object?> Tag { get; }
}
