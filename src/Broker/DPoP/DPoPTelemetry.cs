using System.Diagnostics.Metrics;

namespace Broker.DPoP;

/// <summary>
/// DPoP metrics (meter <c>Broker.DPoP</c>): proofs refused at the token endpoint, by the validator's stable reason code
/// (<c>wrong_htu</c>, <c>replayed_jti</c>, <c>missing_nonce</c> …; a closed set, so a bounded tag). A nonce challenge
/// (<c>missing_nonce</c>, <c>stale_nonce</c>) is the protocol working; <c>replayed_jti</c> and <c>bad_signature</c>
/// are worth a look.
/// </summary>
internal sealed class DPoPTelemetry
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Broker.DPoP";

    private readonly Counter<long> _failures;

    public DPoPTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _failures = meterFactory.Create(Name).CreateCounter<long>(
            "broker.dpop.proof.failures", "{proof}", "DPoP proofs refused at the token endpoint, by reason (the proof validator's reason code, or nonce_unavailable).");
    }

    /// <summary>Counts one refused proof.</summary>
    public void Refused(string reason) => _failures.Add(1, new KeyValuePair<string, object?>("broker.dpop.failure_reason", reason));
}
