// Broker.Client — the agent side of the Broker.

using System.Net;

namespace Broker.Client;

/// <summary>
/// The broker refused a token exchange (RFC 6749 §5.2 error response), or answered in a way this client could
/// not read. The message carries the error code, description and status; never a token.
/// </summary>
public sealed class BrokerExchangeException : Exception
{
    /// <summary>
    /// <see cref="Error"/> when the broker's answer was not an RFC 6749 error response nor a readable success
    /// (for example an HTML page from a proxy). Not sent by the broker.
    /// </summary>
    public const string InvalidResponse = "invalid_response";

    /// <summary>Creates the exception.</summary>
    public BrokerExchangeException(string error, string? errorDescription, HttpStatusCode statusCode)
        : base(Describe(error, errorDescription, statusCode))
    {
        Error = error;
        ErrorDescription = errorDescription;
        StatusCode = statusCode;
    }

    /// <summary>Creates the exception.</summary>
    public BrokerExchangeException()
        : this(InvalidResponse, null, default)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BrokerExchangeException(string message)
        : base(message)
    {
        Error = InvalidResponse;
    }

    /// <summary>Creates the exception.</summary>
    public BrokerExchangeException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = InvalidResponse;
    }

    /// <summary>
    /// The RFC 6749 error code: <c>invalid_request</c>, <c>invalid_grant</c>, <c>invalid_scope</c>,
    /// <c>invalid_target</c>, <c>unauthorized_client</c>, <c>unsupported_grant_type</c>,
    /// <c>temporarily_unavailable</c>, or <see cref="InvalidResponse"/>.
    /// </summary>
    public string Error { get; }

    /// <summary>The broker's <c>error_description</c>: fixed text; the precise reason is in the broker's audit trail.</summary>
    public string? ErrorDescription { get; }

    /// <summary>The HTTP status of the broker's answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>Whether the same request may succeed later without change (<c>temporarily_unavailable</c> or a 5xx).</summary>
    public bool IsTransient => Error == "temporarily_unavailable" || (int)StatusCode >= 500;

    private static string Describe(string error, string? description, HttpStatusCode status) =>
        description is null
            ? $"The broker refused the token exchange: {error} (HTTP {(int)status})."
            : $"The broker refused the token exchange: {error} (HTTP {(int)status}): {description}";
}
