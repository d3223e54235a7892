using System.Diagnostics;
using System.Diagnostics.Metrics;
using Broker.Audit;
using Broker.Errors;
using Broker.Telemetry;

namespace Broker.Exchange;

/// <summary>
/// The token endpoint's metrics and spans (meter and activity source <c>Broker.Exchange</c>). Every request is counted
/// once, from its one audit event, so the metrics and the trail agree; the spans cover the pipeline's steps (subject,
/// actor, mint) under one <c>broker.exchange</c> span, with the policy and grant-store spans of those features inside.
/// </summary>
/// <remarks>
/// Tags are bounded: the outcome, the OAuth error, the catalog reason code and the tenant (a name the policy defines,
/// never request input). No subject, grant ID, token or hash is ever a metric tag; the span carries the subject and
/// the grant ID, which the audit event records too, and never a token.
/// </remarks>
internal sealed class ExchangeTelemetry
{
    /// <summary>The meter's and the activity source's name.</summary>
    public const string Name = "Broker.Exchange";

    /// <summary>Spans of the exchange; static like every <see cref="ActivitySource"/> (there is no factory for them).</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public ExchangeTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(Name);
        _requests = meter.CreateCounter<long>(
            "broker.exchange.requests", "{request}", "Requests of the token endpoint, by outcome (issued or refused), OAuth error and reason.");
        _duration = meter.CreateHistogram(
            "broker.exchange.duration", "s", "Time from the request's arrival to its decision (token minted or refusal audited).",
            advice: TelemetryBuckets.Seconds);
    }

    /// <summary>Starts the span of one exchange request (the caller's HTTP server span is its parent).</summary>
    public static Activity? StartExchange() => Source.StartActivity("broker.exchange");

    /// <summary>Starts the span of one pipeline step (<c>broker.exchange.subject</c>, <c>.actor</c>, <c>.mint</c>).</summary>
    public static Activity? StartStep(string step) => Source.StartActivity("broker.exchange." + step);

    /// <summary>
    /// Counts a request that has ended, from its audit event (called once per request, where the event is written),
    /// and tags the request's span with the outcome.
    /// </summary>
    public void Completed(AuditEvent auditEvent, ErrorDescriptor? refusal, long startTimestamp)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var issued = auditEvent.Outcome == AuditOutcome.Allowed;
        var outcome = issued ? "issued" : "refused";
        var tags = new TagList { { "broker.exchange.outcome", outcome } };
        if (refusal is not null)
        {
            tags.Add("broker.exchange.error", refusal.Error);
        }

        _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        if (refusal is not null)
        {
            tags.Add("broker.exchange.reason", refusal.Reason);
        }

        if (auditEvent.Tenant is { } tenant)
        {
            tags.Add("broker.tenant", tenant);
        }

        _requests.Add(1, tags);

        // The exchange span is the current one here (the audit is written inside it).
        if (Activity.Current is { } span && span.Source == Source && span.OperationName == "broker.exchange")
        {
            span.SetTag("broker.exchange.outcome", outcome);
            span.SetTag("broker.tenant", auditEvent.Tenant);
            span.SetTag("broker.policy.version", auditEvent.PolicyVersion);

            // The audit event records both: who asked and which grant it got. Never the token or its hash.
            span.SetTag("broker.subject.id", auditEvent.Subject);
            span.SetTag("broker.grant.id", auditEvent.GrantId);
            if (refusal is not null)
            {
                span.SetTag("broker.exchange.error", refusal.Error);
                span.SetTag("broker.exchange.reason", refusal.Reason);

                // A refusal is the endpoint working; only the broker's own failures (5xx) are span errors.
                if (refusal.StatusCode >= StatusCodes.Status500InternalServerError)
                {
                    span.SetStatus(ActivityStatusCode.Error, refusal.Reason);
                }
            }
        }
    }
}
