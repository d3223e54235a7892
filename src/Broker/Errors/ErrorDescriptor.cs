namespace Broker.Errors;

/// <summary>
/// One entry of the <see cref="ErrorCatalog"/>: a stable reason code (recorded in the audit trail),
/// the OAuth error code and the description a caller sees. Descriptions are fixed text: they never
/// carry a token, a claim value or an exception message.
/// </summary>
/// <param name="Reason">Stable reason code, e.g. <c>subject.expired</c>. A telemetry contract: never rename.</param>
/// <param name="Error">The OAuth <c>error</c> value.</param>
/// <param name="Description">The safe <c>error_description</c>.</param>
/// <param name="StatusCode">The HTTP status code of the error response.</param>
internal sealed record ErrorDescriptor(string Reason, string Error, string Description, int StatusCode = StatusCodes.Status400BadRequest);
