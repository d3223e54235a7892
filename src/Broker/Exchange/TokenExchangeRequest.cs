namespace Broker.Exchange;

/// <summary>A token-exchange request that passed the syntactic checks (RFC 8693 §2.1).</summary>
public sealed record TokenExchangeRequest
{
    public required string SubjectToken { get; init; }

    public required string SubjectTokenType { get; init; }

    public string? ActorToken { get; init; }

    public string? ActorTokenType { get; init; }

    /// <summary>RFC 8707 resource indicator: the MCP server's URI.</summary>
    public string? Resource { get; init; }

    /// <summary>A logical audience name.</summary>
    public string? Audience { get; init; }

    /// <summary>The requested capability names, de-duplicated, in request order.</summary>
    public required IReadOnlyList<string> Capabilities { get; init; }

    /// <summary>The requested (and issued) token type: the access-token URI, or <c>jwt</c> when asked for.</summary>
    public required string RequestedTokenType { get; init; }

    /// <summary>The task this token is for (<c>task_id</c>).</summary>
    public required string TaskId { get; init; }

    /// <summary>Why the task runs (<c>purpose</c>).</summary>
    public required string Purpose { get; init; }

    /// <summary>Requested lifetime (<c>expires_in</c>), if any; policy may shorten it.</summary>
    public TimeSpan? RequestedLifetime { get; init; }
}
