using Broker.Tokens;

namespace Broker.Subjects;

/// <summary>The <c>subject_token_type</c>s and <c>actor_token_type</c>s this broker validates (RFC 8693 §3).</summary>
internal static class SubjectTokenTypes
{
    /// <summary>
    /// The type that names the TLS client certificate as the subject; the <c>subject_token</c> is then its
    /// <c>x5t#S256</c>, so the caller states which certificate it speaks for and the broker checks it is the one on the
    /// connection.
    /// </summary>
    public const string X509Svid = "urn:broker:params:oauth:token-type:x509-svid";

    /// <summary>The JWT types: each is read as a JWT, and its issuer picks the validator.</summary>
    public static IReadOnlyList<string> Jwt { get; } = [CapabilityTokenTypes.Jwt, CapabilityTokenTypes.IdToken, CapabilityTokenTypes.AccessToken];

    /// <summary>True for a type an actor token may have: a JWT (an actor proves itself with its own token, never a connection).</summary>
    public static bool IsJwt(string type) => type is CapabilityTokenTypes.Jwt or CapabilityTokenTypes.IdToken or CapabilityTokenTypes.AccessToken;

    /// <summary>True for a type a subject token may have.</summary>
    public static bool IsSupported(string type) => IsJwt(type) || type == X509Svid;
}
