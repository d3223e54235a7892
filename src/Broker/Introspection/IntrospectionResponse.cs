using System.Text.Json.Serialization;

namespace Broker.Introspection;

/// <summary>The RFC 7662 §2.2 answer. Only <c>active</c> is present for a token that is not active.</summary>
internal sealed record IntrospectionResponse
{
    [JsonPropertyName("active")]
    public required bool Active { get; init; }

    [JsonPropertyName("scope")]
    public string? Scope { get; init; }

    [JsonPropertyName("client_id")]
    public string? ClientId { get; init; }

    [JsonPropertyName("token_type")]
    public string? TokenType { get; init; }

    [JsonPropertyName("exp")]
    public long? Exp { get; init; }

    [JsonPropertyName("iat")]
    public long? Iat { get; init; }

    [JsonPropertyName("nbf")]
    public long? Nbf { get; init; }

    [JsonPropertyName("sub")]
    public string? Sub { get; init; }

    [JsonPropertyName("aud")]
    public string? Aud { get; init; }

    [JsonPropertyName("iss")]
    public string? Iss { get; init; }

    [JsonPropertyName("jti")]
    public string? Jti { get; init; }

    [JsonPropertyName("tenant")]
    public string? Tenant { get; init; }

    [JsonPropertyName("task_id")]
    public string? TaskId { get; init; }

    [JsonPropertyName("purpose")]
    public string? Purpose { get; init; }

    /// <summary>The delegation chain, current actor first.</summary>
    [JsonPropertyName("actor_chain")]
    public IReadOnlyList<string>? ActorChain { get; init; }

    [JsonPropertyName("cnf")]
    public Contracts.Admin.GrantBindingView? Cnf { get; init; }

    public static IntrospectionResponse Inactive { get; } = new() { Active = false };
}
