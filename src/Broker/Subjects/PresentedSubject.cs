using System.Security.Cryptography.X509Certificates;

namespace Broker.Subjects;

/// <summary>
/// A subject as the caller presented it to <see cref="SubjectTokenValidator"/>: the token and its RFC 8693 type, and
/// the TLS client certificate of the connection, which only the X509-SVID type (<see cref="SubjectTokenTypes.X509Svid"/>)
/// makes the subject (RFC 8705 §2). Which validator reads it follows from the type, then, for a JWT, from its issuer.
/// </summary>
/// <param name="Token">The subject token (for an X509-SVID: the certificate's <c>x5t#S256</c>).</param>
/// <param name="TokenType">Its <c>subject_token_type</c>, one of <see cref="SubjectTokenTypes.IsSupported"/>.</param>
/// <param name="Hash">The token's SHA-256, the key of the validation cache and of every log line about it.</param>
/// <param name="ClientCertificate">The connection's TLS client certificate, when the caller presented one.</param>
internal sealed record PresentedSubject(string Token, string TokenType, TokenHash Hash, X509Certificate2? ClientCertificate = null);
