using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.Telemetry;

namespace Broker.Policy;

/// <summary>
/// Policy metrics and spans (meter and activity source <c>Broker.Policy</c>): how long decisions take, and how
/// reloads of the policy directory end. The Broker.Policy library stays free of telemetry: the broker measures its
/// calls into it here.
/// </summary>
internal sealed class PolicyTelemetry
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "Broker.Policy";

    /// <summary>The evaluation span's source.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Histogram<double> _decisionDuration;
    private readonly Counter<long> _reloads;

    public PolicyTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(Name);
        _decisionDuration = meter.CreateHistogram(
            "broker.policy.decision.duration", "s", "Time the policy took to decide one exchange, by decision (allowed or denied).",
            advice: TelemetryBuckets.Seconds);
        _reloads = meter.CreateCounter<long>(
            "broker.policy.reloads", "{reload}", "Loads of the policy directory, by outcome: loaded (a new version in force), unchanged, rejected (the last good policy stays).");
    }

    /// <summary>Evaluates <paramref name="request"/> under a <c>broker.policy.evaluate</c> span and measures it.</summary>
    public PolicyDecision Evaluate(PolicyEvaluator evaluator, PolicySet policy, PolicyRequest request)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(policy);
        using var span = Source.StartActivity("broker.policy.evaluate");
        var started = Stopwatch.GetTimestamp();
        var decision = evaluator.Evaluate(policy, request);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var outcome = decision is PolicyDecision.Allowed ? "allowed" : "denied";
        _decisionDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("broker.policy.decision", outcome));
        if (span is not null)
        {
            span.SetTag("broker.policy.decision", outcome);
            span.SetTag("broker.policy.version", decision.PolicyVersion);
            if (decision is PolicyDecision.Denied denied)
            {
                span.SetTag("broker.policy.denial_reason", denied.Reason.ToString());
            }
        }

        return decision;
    }

    /// <summary>Counts one load of the policy directory: <c>loaded</c>, <c>unchanged</c> or <c>rejected</c>.</summary>
    public void Reloaded(string outcome) => _reloads.Add(1, new KeyValuePair<string, object?>("broker.policy.reload.outcome", outcome));
}
