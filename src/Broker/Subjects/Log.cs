using Broker.Policy;

namespace Broker.Subjects;

/// <summary>Subject validation log messages, EventIds 1100-1199. Names are a telemetry contract: never rename.</summary>
/// <remarks>Tokens are never logged: only their SHA-256.</remarks>
internal static partial class Log
{
    [LoggerMessage(1100, LogLevel.Debug, "{Kind} token rejected: {Reason} (token sha256 {TokenSha256}).", EventName = nameof(SubjectRejected))]
    public static partial void SubjectRejected(ILogger logger, IdentityKind kind, string reason, string tokenSha256);

    [LoggerMessage(1101, LogLevel.Warning, "Could not obtain the keys of issuer {Issuer}: {Error}", EventName = nameof(IssuerKeysUnavailable))]
    public static partial void IssuerKeysUnavailable(ILogger logger, string issuer, string error);

    [LoggerMessage(1105, LogLevel.Debug, "Token refused before any key lookup: {Reason} (token sha256 {TokenSha256}).", EventName = nameof(TokenRefusedByGate))]
    public static partial void TokenRefusedByGate(ILogger logger, string reason, string tokenSha256);

    [LoggerMessage(1106, LogLevel.Warning, "Could not refresh the keys of issuer {Issuer}: {Error}; the last keys stay in use until the next attempt.", EventName = nameof(IssuerKeysStale))]
    public static partial void IssuerKeysStale(ILogger logger, string issuer, string error);
}
