using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// The signature algorithms accepted on presented tokens: asymmetric only (RFC 8725 §3.1). No
/// <c>none</c>, no HMAC: an HMAC "signed" with a public key is the classic algorithm-confusion forgery.
/// </summary>
internal static class SubjectAlgorithms
{
    public static readonly string[] Allowed =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    public static bool IsAllowed(string? alg) => alg is not null && Array.IndexOf(Allowed, alg) >= 0;
}
