using System.Text.Json.Serialization;

namespace Broker.Discovery;

/// <summary>RFC 8414 authorization server metadata, plus the broker's task-context parameters.</summary>
internal sealed record AuthorizationServerMetadata
{
    [JsonPropertyName("issuer")]
    public required string Issuer { get; init; }

    [JsonPropertyName("token_endpoint")]
    public required string TokenEndpoint { get; init; }

    [JsonPropertyName("jwks_uri")]
    public required string JwksUri { get; init; }

    /// <summary>RFC 7009 (RFC 8414 §2).</summary>
    [JsonPropertyName("revocation_endpoint")]
    public required string RevocationEndpoint { get; init; }

    /// <summary>RFC 7662 (RFC 8414 §2).</summary>
    [JsonPropertyName("introspection_endpoint")]
    public required string IntrospectionEndpoint { get; init; }

    /// <summary>Broker extension: the revocation feed (server-sent events; see docs/revocation-feed.md).</summary>
    [JsonPropertyName("revocation_events_endpoint")]
    public required string RevocationEventsEndpoint { get; init; }

    /// <summary>Broker extension: the base of the capability catalog (docs/catalog.md), <c>&lt;issuer&gt;/catalog/v1</c>.</summary>
    [JsonPropertyName("catalog_endpoint")]
    public string? CatalogEndpoint { get; init; }

    /// <summary>
    /// Broker extension: where the tenants' Token Status Lists are (draft-ietf-oauth-status-list); the list of tenant
    /// T is at this URL + <c>/</c> + T, the <c>uri</c> in T's tokens. Absent when the status list is off.
    /// </summary>
    [JsonPropertyName("status_list_endpoint")]
    public string? StatusListEndpoint { get; init; }

    /// <summary>REQUIRED by RFC 8414; empty because the broker has no authorization endpoint.</summary>
    [JsonPropertyName("response_types_supported")]
    public IReadOnlyList<string> ResponseTypesSupported { get; init; } = [];

    [JsonPropertyName("grant_types_supported")]
    public required IReadOnlyList<string> GrantTypesSupported { get; init; }

    /// <summary>"none": the subject token (or the jwt-bearer assertion) is the credential.</summary>
    [JsonPropertyName("token_endpoint_auth_methods_supported")]
    public required IReadOnlyList<string> TokenEndpointAuthMethodsSupported { get; init; }

    [JsonPropertyName("token_exchange_subject_token_types_supported")]
    public required IReadOnlyList<string> SubjectTokenTypesSupported { get; init; }

    [JsonPropertyName("token_exchange_actor_token_types_supported")]
    public required IReadOnlyList<string> ActorTokenTypesSupported { get; init; }

    [JsonPropertyName("token_exchange_requested_token_types_supported")]
    public required IReadOnlyList<string> RequestedTokenTypesSupported { get; init; }

    [JsonPropertyName("token_signing_alg_values_supported")]
    public required IReadOnlyList<string> TokenSigningAlgValuesSupported { get; init; }

    [JsonPropertyName("subject_token_signing_alg_values_supported")]
    public required IReadOnlyList<string> SubjectTokenSigningAlgValuesSupported { get; init; }

    /// <summary>Broker extension: the request parameters that carry the task context.</summary>
    [JsonPropertyName("task_context_parameters_supported")]
    public required IReadOnlyList<string> TaskContextParametersSupported { get; init; }

    /// <summary>RFC 8705 §3.3: tokens exchanged over mutual TLS are bound to the client certificate.</summary>
    [JsonPropertyName("tls_client_certificate_bound_access_tokens")]
    public bool TlsClientCertificateBoundAccessTokens { get; init; }

    /// <summary>RFC 9449 §5.1: the DPoP proof algorithms the token endpoint accepts.</summary>
    [JsonPropertyName("dpop_signing_alg_values_supported")]
    public IReadOnlyList<string>? DPoPSigningAlgValuesSupported { get; init; }

    [JsonPropertyName("resource_indicators_supported")]
    public bool ResourceIndicatorsSupported { get; init; } = true;
}
