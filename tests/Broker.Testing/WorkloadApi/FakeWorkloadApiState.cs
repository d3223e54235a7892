// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Broker.Spiffe;
using Broker.Testing.Pki;
using Broker.Spiffe.WorkloadApi.Protos;
using Google.Protobuf;
using Grpc.Core;

namespace Broker.Testing.WorkloadApi;

/// <summary>What the fake agent thinks of the caller (spec §7).</summary>
public enum CallerMode
{
    /// <summary>Attested and entitled: SVIDs are served.</summary>
    Identity,

    /// <summary>Attested but no registration entry: PermissionDenied "no identity issued".</summary>
    NoIdentity,

    /// <summary>Attestation failed: Unavailable.</summary>
    AttestationFailure,
}

/// <summary>
/// The switchable state behind <see cref="FakeWorkloadApiServer"/>: a real PKI (root CA, optional intermediate,
/// leaf SVIDs), JWT signing keys, federated bundles and the caller mode. Every change is pushed as a complete
/// message to every open stream. Thread-safe. Public so other test projects can drive it.
/// </summary>
public sealed class FakeWorkloadApiState
{
    private readonly Lock _gate = new();
    private readonly List<IssuedCertificate> _roots = [];
    private readonly Dictionary<SpiffeId, IssuedCertificate> _leaves = [];
    private readonly List<(SpiffeId Id, string Hint)> _identities = [];
    private readonly Dictionary<string, byte[]> _federatedX509 = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _federatedJwks = new(StringComparer.Ordinal);
    private readonly List<(string Kid, ECDsa Key)> _jwtKeys = [];
    private readonly Dictionary<string, (string Token, DateTimeOffset Refresh)> _jwtCache = new(StringComparer.Ordinal);
    private readonly Queue<StatusCode> _failures = new();
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();
    private TaskCompletionSource _firstMessageGate = Released();
    private IssuedCertificate? _intermediate;
    private X509SVIDResponse? _rawX509;
    private CallerMode _mode = CallerMode.Identity;
    private int _openStreams;
    private ITimer? _rotation;

    public FakeWorkloadApiState(string trustDomain = "example.org", bool useIntermediate = false)
    {
        TrustDomain = trustDomain;
        _roots.Add(TestPki.CreateRoot(trustDomain));
        if (useIntermediate)
        {
            _intermediate = TestPki.CreateIntermediate(_roots[0], trustDomain);
        }

        _identities.Add((SpiffeId.Parse($"spiffe://{trustDomain}/workload"), string.Empty));
        _jwtKeys.Add((NewKid(), ECDsa.Create(ECCurve.NamedCurves.nistP256)));
        IssueLeaves();
    }

    public string TrustDomain { get; }

    /// <summary>Lifetime of issued JWT-SVIDs. Default 5 minutes (SPIRE's default_jwt_svid_ttl).</summary>
    public TimeSpan JwtSvidTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Shape of issued leaf SVIDs (key type, lifetime…). Default: EC P-256, 1 hour (SPIRE's defaults).</summary>
    public LeafSpec LeafTemplate { get; set; } = new();

    /// <summary>The clock for JWT-SVIDs and automatic rotation.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The current roots of the own trust domain, oldest first.</summary>
    public IReadOnlyList<X509Certificate2> Roots
    {
        get
        {
            lock (_gate)
            {
                return [.. _roots.Select(r => r.Certificate)];
            }
        }
    }

    /// <summary>The current JWT signing key ID.</summary>
    public string CurrentJwtKeyId
    {
        get
        {
            lock (_gate)
            {
                return _jwtKeys[^1].Kid;
            }
        }
    }

    public CallerMode Mode
    {
        get
        {
            lock (_gate)
            {
                return _mode;
            }
        }
    }

    /// <summary>How many streams are open right now.</summary>
    public int OpenStreams => Volatile.Read(ref _openStreams);

    /// <summary>How many times an RPC was called (including failed calls).</summary>
    public int CallCount(string rpc) => _calls.TryGetValue(rpc, out var n) ? n : 0;

    /// <summary>Switches the caller mode and pushes the change (streams end with the matching error).</summary>
    public void SetMode(CallerMode mode) => Change(() => _mode = mode);

    /// <summary>Serves these identities, in order (the first is the default); hints may repeat to test "take first".</summary>
    public void SetIdentities(params (string Id, string Hint)[] identities) => Change(() =>
    {
        _identities.Clear();
        _identities.AddRange(identities.Select(i => (SpiffeId.Parse(i.Id), i.Hint)));
        IssueLeaves();
    });

    /// <summary>Reissues every leaf SVID (X.509 rotation) and pushes it.</summary>
    public void RotateX509Svids() => Change(IssueLeaves);

    /// <summary>
    /// Rotates X509-SVIDs by themselves as SPIRE does: when half the lifetime (±10%) has passed, on
    /// <see cref="TimeProvider"/> (drive it with a FakeTimeProvider).
    /// </summary>
    public void StartAutoRotation()
    {
        lock (_gate)
        {
            _rotation?.Dispose();
            _rotation = TimeProvider.CreateTimer(_ => { RotateX509Svids(); ArmRotation(); }, null, NextRotation(), Timeout.InfiniteTimeSpan);
        }
    }

    private void ArmRotation()
    {
        lock (_gate)
        {
            _rotation?.Change(NextRotation(), Timeout.InfiniteTimeSpan);
        }
    }

    private TimeSpan NextRotation() => LeafTemplate.Lifetime / 2 * (0.9 + (Random.Shared.NextDouble() * 0.2));

    /// <summary>CA rotation, step 1: add a new root, issue from it; the bundle holds old and new.</summary>
    public void AddRootAndSwitch() => Change(() =>
    {
        _roots.Add(TestPki.CreateRoot(TrustDomain));
        if (_intermediate is not null)
        {
            _intermediate = TestPki.CreateIntermediate(_roots[^1], TrustDomain);
        }

        IssueLeaves();
    });

    /// <summary>CA rotation, step 2: drop every root but the newest (the old one is redacted).</summary>
    public void DropOldRoots() => Change(() => _roots.RemoveRange(0, _roots.Count - 1));

    public void SetFederatedBundle(string trustDomain, IEnumerable<X509Certificate2> roots, string? jwks = null) => Change(() =>
    {
        _federatedX509["spiffe://" + trustDomain] = TestPki.Der(roots);
        if (jwks is not null)
        {
            _federatedJwks["spiffe://" + trustDomain] = jwks;
        }
    });

    public void RemoveFederatedBundle(string trustDomain) => Change(() =>
    {
        _federatedX509.Remove("spiffe://" + trustDomain);
        _federatedJwks.Remove("spiffe://" + trustDomain);
    });

    /// <summary>Adds a new JWT signing key and signs with it from now on; the old key stays in the bundle.</summary>
    public void RotateJwtKey() => Change(() =>
    {
        _jwtKeys.Add((NewKid(), ECDsa.Create(ECCurve.NamedCurves.nistP256)));
        _jwtCache.Clear();
    });

    /// <summary>Removes every JWT signing key but the newest from the bundle: the end of a JWT key rotation.</summary>
    public void DropOldJwtKeys() => Change(() =>
    {
        _jwtKeys.RemoveRange(0, _jwtKeys.Count - 1);
        _jwtCache.Clear();
    });

    /// <summary>
    /// Sends this exact X509SVIDResponse instead of the real one (faults: empty svids, bad DER, wrong key); null to stop.
    /// Any message of that shape will do: it is carried over by its protobuf encoding, since a test project that compiles
    /// the proto itself has X509SVIDResponse types of its own.
    /// </summary>
    public void SetRawX509Response(IMessage? response)
    {
        var raw = response is null ? null : X509SVIDResponse.Parser.ParseFrom(response.ToByteString());
        Change(() => _rawX509 = raw);
    }

    /// <summary>Fault: streams opened from now on hold their first message until <see cref="ReleaseFirstMessages"/> (a slow agent).</summary>
    public void HoldFirstMessages()
    {
        lock (_gate)
        {
            _firstMessageGate = NewSignal();
        }
    }

    public void ReleaseFirstMessages()
    {
        lock (_gate)
        {
            _firstMessageGate.TrySetResult();
        }
    }

    internal Task FirstMessageGate
    {
        get
        {
            lock (_gate)
            {
                return _firstMessageGate.Task;
            }
        }
    }

    /// <summary>The next <paramref name="count"/> calls (any RPC) fail with <paramref name="code"/>.</summary>
    public void FailNextCalls(StatusCode code, int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                _failures.Enqueue(code);
            }
        }
    }

    /// <summary>Aborts every open stream's connection, as an agent that dies does.</summary>
    public void AbortStreams()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _changed;
            _changed = NewSignal();
        }

        old.TrySetException(new StreamAbortedException());
    }

    /// <summary>Signs a JWT-SVID with the current key (as FetchJWTSVID would), for tests that need a token directly.</summary>
    public string MintJwtSvid(string subject, IReadOnlyList<string> audience)
    {
        lock (_gate)
        {
            return Mint(subject, audience);
        }
    }

    /// <summary>The JWKS of the own trust domain, as FetchJWTBundles serves it (plain: kid, no use).</summary>
    public string Jwks()
    {
        lock (_gate)
        {
            return JwksLocked();
        }
    }

    internal Task ChangedTask
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    internal void StreamOpened() => Interlocked.Increment(ref _openStreams);

    internal void StreamClosed() => Interlocked.Decrement(ref _openStreams);

    /// <summary>Counts the call, enforces the security header, and applies injected failures.</summary>
    internal void Enter(ServerCallContext context, string rpc)
    {
        _calls.AddOrUpdate(rpc, 1, (_, n) => n + 1);

        // Exactly one value, exactly "true"; anything else is InvalidArgument (spec §1).
        var values = context.RequestHeaders.Where(h => h.Key == "workload.spiffe.io").ToList();
        if (values.Count != 1 || values[0].Value != "true")
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "security header missing from request"));
        }

        lock (_gate)
        {
            if (_failures.TryDequeue(out var code))
            {
                throw new RpcException(new Status(code, "injected failure"));
            }
        }
    }

    /// <summary>Throws the status the caller's mode implies, as SPIRE's handler does.</summary>
    internal void CheckCaller()
    {
        switch (Mode)
        {
            case CallerMode.NoIdentity:
                throw new RpcException(new Status(StatusCode.PermissionDenied, "no identity issued"));
            case CallerMode.AttestationFailure:
                throw new RpcException(new Status(StatusCode.Unavailable, "could not verify existence of the original caller"));
        }
    }

    internal X509SVIDResponse BuildX509SvidResponse()
    {
        lock (_gate)
        {
            if (_rawX509 is not null)
            {
                return _rawX509;
            }

            var bundle = ByteString.CopyFrom(TestPki.Der(_roots.Select(r => r.Certificate)));
            var response = new X509SVIDResponse();
            foreach (var (id, hint) in _identities)
            {
                var leaf = _leaves[id];
                var chain = _intermediate is null ? [leaf.Certificate] : new[] { leaf.Certificate, _intermediate.Certificate };
                response.Svids.Add(new X509SVID
                {
                    SpiffeId = id.ToString(),
                    X509Svid = ByteString.CopyFrom(TestPki.Der(chain)),
                    X509SvidKey = ByteString.CopyFrom(leaf.Pkcs8Key),
                    Bundle = bundle,
                    Hint = hint,
                });
            }

            foreach (var (td, der) in _federatedX509)
            {
                response.FederatedBundles[td] = ByteString.CopyFrom(der);
            }

            return response;
        }
    }

    internal X509BundlesResponse BuildX509BundlesResponse()
    {
        lock (_gate)
        {
            var response = new X509BundlesResponse();
            response.Bundles["spiffe://" + TrustDomain] = ByteString.CopyFrom(TestPki.Der(_roots.Select(r => r.Certificate)));
            foreach (var (td, der) in _federatedX509)
            {
                response.Bundles[td] = ByteString.CopyFrom(der);
            }

            return response;
        }
    }

    internal JWTBundlesResponse BuildJwtBundlesResponse()
    {
        lock (_gate)
        {
            var response = new JWTBundlesResponse();
            response.Bundles["spiffe://" + TrustDomain] = ByteString.CopyFromUtf8(JwksLocked());
            foreach (var (td, jwks) in _federatedJwks)
            {
                response.Bundles[td] = ByteString.CopyFromUtf8(jwks);
            }

            return response;
        }
    }

    /// <summary>FetchJWTSVID: one token per entitled identity, cached per (ID, audiences) until half its lifetime (SPIRE).</summary>
    internal JWTSVIDResponse FetchJwtSvids(JWTSVIDRequest request)
    {
        if (request.Audience.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        SpiffeId filter = default;
        if (request.SpiffeId.Length > 0 && !SpiffeId.TryParse(request.SpiffeId, out filter))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "invalid requested SPIFFE ID"));
        }

        lock (_gate)
        {
            var response = new JWTSVIDResponse();
            foreach (var (id, hint) in _identities)
            {
                if (!filter.IsZero && filter != id)
                {
                    continue;
                }

                var cacheKey = id + "|" + string.Join(' ', request.Audience.Order(StringComparer.Ordinal));
                var now = TimeProvider.GetUtcNow();
                if (!_jwtCache.TryGetValue(cacheKey, out var cached) || now >= cached.Refresh)
                {
                    cached = (Mint(id.ToString(), request.Audience), now + (JwtSvidTtl / 2));
                    _jwtCache[cacheKey] = cached;
                }

                response.Svids.Add(new JWTSVID { SpiffeId = id.ToString(), Svid = cached.Token, Hint = hint });
            }

            if (response.Svids.Count == 0)
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, "no identity issued"));
            }

            return response;
        }
    }

    internal IReadOnlyDictionary<string, string> AllJwks()
    {
        lock (_gate)
        {
            var all = new Dictionary<string, string>(_federatedJwks, StringComparer.Ordinal) { ["spiffe://" + TrustDomain] = JwksLocked() };
            return all;
        }
    }

    private void Change(Action change)
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            change();
            old = _changed;
            _changed = NewSignal();
        }

        old.TrySetResult();
    }

    private void IssueLeaves()
    {
        _leaves.Clear();
        var issuer = _intermediate ?? _roots[^1];
        foreach (var (id, _) in _identities)
        {
            _leaves[id] = TestPki.CreateLeaf(issuer, id.ToString(), LeafTemplate);
        }
    }

    private string Mint(string subject, IEnumerable<string> audience)
    {
        // Signed by hand, as SPIRE does it: alg ES256, kid, typ JWT; sub, aud (always a list), exp, iat.
        var (kid, key) = _jwtKeys[^1];
        var now = TimeProvider.GetUtcNow();
        var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["alg"] = "ES256", ["kid"] = kid, ["typ"] = "JWT" });
        var claims = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["aud"] = audience.ToArray(),
            ["exp"] = (now + JwtSvidTtl).ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
        });
        var input = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(claims);
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + Base64Url.EncodeToString(signature);
    }

    private string JwksLocked() => TestKeys.JwksJson(_jwtKeys.Select(k => TestKeys.ToJwk(k.Key, k.Kid)));

    private static string NewKid() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static TaskCompletionSource Released()
    {
        var signal = NewSignal();
        signal.SetResult();
        return signal;
    }
}

/// <summary>Raised inside stream handlers when the test aborts every stream.</summary>
public sealed class StreamAbortedException : Exception
{
    public StreamAbortedException()
        : base("stream aborted by the test")
    {
    }

    public StreamAbortedException(string message)
        : base(message)
    {
    }

    public StreamAbortedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
