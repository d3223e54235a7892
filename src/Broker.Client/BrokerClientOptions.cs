// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>Where the broker is, who the agent is, and how tokens are requested and cached.</summary>
public sealed class BrokerClientOptions
{
    /// <summary>
    /// The broker's token endpoint, for example <c>https://broker.example.org/oauth2/token</c>. Required; https,
    /// or http on a loopback host (a subject token is a bearer credential and must not cross a network in clear).
    /// </summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>The agent's identity, sent as <c>subject_token</c>. Required.</summary>
    public ISubjectTokenSource? SubjectTokenSource { get; set; }

    /// <summary>
    /// The party acting for the subject, sent as <c>actor_token</c> so the token carries <c>act</c>
    /// (RFC 8693 §4.1). Optional.
    /// </summary>
    public ISubjectTokenSource? ActorTokenSource { get; set; }

    /// <summary>
    /// Ask for DPoP-bound tokens (RFC 9449): every exchange carries a proof of the agent's <see cref="DPoPKey"/>, and
    /// the tokens the broker binds to it are sent with <c>Authorization: DPoP</c> and a proof per request, so a copied
    /// token is useless without the key. On by default. A broker that answers <c>token_type</c> <c>Bearer</c> (one
    /// without DPoP) gets its tokens used as bearer tokens. Turn it off only for resource servers that do not
    /// support DPoP: they cannot accept a DPoP-bound token.
    /// </summary>
    public bool UseDPoP { get; set; } = true;

    /// <summary>The <c>task_id</c> of requests that do not set one. Default none.</summary>
    public string? DefaultTaskId { get; set; }

    /// <summary>The <c>purpose</c> of requests that do not set one. Default none.</summary>
    public string? DefaultPurpose { get; set; }

    /// <summary>The requested lifetime of requests that do not set one. Default none: the policy decides.</summary>
    public TimeSpan? DefaultLifetime { get; set; }

    /// <summary>
    /// How many times an exchange answered with 503 is sent again, after the broker's <c>Retry-After</c>.
    /// Default 2; 0 disables. Other errors are never retried: a 4xx will not change by asking again.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Longest wait before a retry. Default 10 seconds. A longer <c>Retry-After</c> is cut to this, so one
    /// answer cannot park the agent. A 503 without <c>Retry-After</c> waits 1 second.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A cached token is replaced when less than this much of its lifetime is left, or less than
    /// <see cref="RefreshFraction"/> of it, whichever is larger. Default 30 seconds: room for clock skew and the
    /// call the token is for.
    /// </summary>
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>See <see cref="RefreshMargin"/>. Default 0.1 (10% of the lifetime); between 0 and 0.9.</summary>
    public double RefreshFraction { get; set; } = 0.1;

    /// <summary>
    /// Most tokens the cache holds. Default 256. When full, expired tokens go first, then the one expiring
    /// soonest; an agent that keys requests by task ID cannot grow the cache without bound.
    /// </summary>
    public int MaxCachedTokens { get; set; } = 256;
}
