namespace Broker.AuthZen;

/// <summary>What became of one evaluation: the decision point's decision, or why there is none (fail closed).</summary>
internal enum AuthZenVerdict
{
    /// <summary>200 with <c>"decision": true</c>.</summary>
    Permit,

    /// <summary>200 with <c>"decision": false</c>.</summary>
    Deny,

    /// <summary>No decision: timeout, transport error, another status, a malformed or oversized answer, circuit open, too many in flight.</summary>
    Unavailable,
}

/// <summary>The outcome of one evaluation.</summary>
/// <param name="Verdict">Permit, deny or no decision.</param>
/// <param name="Failure">For <see cref="AuthZenVerdict.Unavailable"/>, why, for the log (never anything the decision point sent).</param>
/// <param name="Cached">True when the decision came from the decision cache.</param>
internal readonly record struct AuthZenAnswer(AuthZenVerdict Verdict, string? Failure = null, bool Cached = false)
{
    public static AuthZenAnswer Permit { get; } = new(AuthZenVerdict.Permit);

    public static AuthZenAnswer Deny { get; } = new(AuthZenVerdict.Deny);

    public static AuthZenAnswer Unavailable(string failure) => new(AuthZenVerdict.Unavailable, failure);
}
