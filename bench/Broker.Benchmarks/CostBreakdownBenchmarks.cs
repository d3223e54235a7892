using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Broker.Jose;
using Broker.Spiffe.Svids;
using Broker.Subjects;
using Broker.Trust;
using Broker.Testing.Bench;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Benchmarks;

/// <summary>
/// The pieces of an exchange measured one by one, to say where the time of the whole goes: the raw
/// ES256 operations (.NET over OpenSSL, no JOSE library), JWT parsing, the strict compact-JWS gate,
/// the token hash, claim flattening and the SPIFFE library's JWT-SVID validation.
/// </summary>
public class CostBreakdownBenchmarks
{
    private BrokerHost _broker = null!;
    private ECDsa _verifier = null!;
    private ECDsa _signer = null!;
    private TrustBundleRegistry _bundles = null!;
    private string _token = null!;
    private byte[] _signingInput = null!;
    private byte[] _signature = null!;
    private ReadOnlyMemory<byte> _payload;
    private readonly CompactJwsOptions _gate = new() { AcceptedTypes = JwsTypes.Jwt.Union(JwsTypes.AccessToken) };
    private readonly string[] _audiences = [BenchTrustDomain.Issuer];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _broker = await BrokerHost.StartAsync(validationCache: false);
        _bundles = _broker.Get<TrustBundleRegistry>();
        _verifier = _broker.TrustDomain.CreateVerifier();
        _signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _token = _broker.TrustDomain.MintSvid(BenchTrustDomain.AgentId(1), DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
        var lastDot = _token.LastIndexOf('.');
        _signingInput = Encoding.ASCII.GetBytes(_token[..lastDot]);
        _signature = Convert.FromBase64String(ToBase64(_token[(lastDot + 1)..]));
        _payload = CompactJws.TryRead(_token, _gate, out var jws, out _) ? jws.Payload : throw new InvalidOperationException("The bench JWT-SVID did not pass the gate.");
        if (!Es256Verify() || !ValidateJwtSvid())
        {
            throw new InvalidOperationException("The bench JWT-SVID did not verify.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _verifier.Dispose();
        _signer.Dispose();
        await _broker.DisposeAsync();
    }

    /// <summary>The floor of cache-off validation: one P-256 ECDSA verification with SHA-256.</summary>
    [Benchmark]
    public bool Es256Verify() => _verifier.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256);

    /// <summary>The floor of minting: one P-256 ECDSA signature with SHA-256.</summary>
    [Benchmark]
    public byte[] Es256Sign() => _signer.SignData(_signingInput, HashAlgorithmName.SHA256);

    [Benchmark]
    public JsonWebToken ParseJsonWebToken() => new(_token);

    [Benchmark]
    public ulong HashToken() => TokenHash.Of(_token).A; // the hash type is internal to the broker; a word of it keeps the result live

    [Benchmark]
    public int FlattenClaims() => ClaimsFlattener.Flatten(_payload).Count;

    /// <summary>The strict structural gate every presented token passes before any key lookup (Broker.Jose).</summary>
    [Benchmark]
    public bool ReadCompactJws() => CompactJws.TryRead(_token, _gate, out _, out _);

    /// <summary>Broker.Spiffe's JWT-SVID validation alone: parse, checks, bundle lookup, verify.</summary>
    [Benchmark]
    public bool ValidateJwtSvid() => JwtSvid.Validate(_token, _bundles, _audiences).TryGetSvid(out _);

    private static string ToBase64(string base64Url)
    {
        var s = base64Url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}
