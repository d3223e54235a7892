// Revocation propagation: admin revokes a grant by ID on replica B → the first refused call at verifiers that validate
// offline and follow replica A's revocation feed (bench/README.md, "Revocation propagation").
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Propagation;
using Broker.Testing.Bench;
using Broker.Testing.Redis;

var revocations = Option(args, "--revocations", 200);
var verifierCount = Option(args, "--verifiers", 3);
var warmup = Option(args, "--warmup", 10);
var pollInterval = TimeSpan.FromMilliseconds(Option(args, "--poll-ms", 2));
const string Tenant = "bench";

var root = FindRoot();
var brokerDll = Path.Combine(root, "src", "Broker", "bin", "Release", "net10.0", "Broker.dll");
if (!File.Exists(brokerDll))
{
    Console.Error.WriteLine($"{brokerDll} not found: dotnet build -c Release src/Broker/Broker.csproj");
    return 1;
}

Console.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} on {Environment.ProcessorCount} CPU(s): {CpuModel()}; load average {LoadAverage()}");
Console.WriteLine($"== {revocations} revocations (+{warmup} warm-up), {verifierCount} verifiers, poll every {pollInterval.TotalMilliseconds} ms");

var work = Directory.CreateTempSubdirectory("broker-propagation-").FullName;
try
{
    await using var redis = await RedisProcess.StartTemporaryAsync("--appendonly", "no");
    var tls = LoopbackTls.Create(work);
    using var trustDomain = new BenchTrustDomain();
    var policy = Path.Combine(work, "policy");
    Directory.CreateDirectory(policy);
    await File.WriteAllTextAsync(Path.Combine(policy, "bench.yaml"), PolicyYaml);
    await File.WriteAllTextAsync(Path.Combine(policy, "bundle.json"), trustDomain.BundleJson());
    using (var signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
    {
        await File.WriteAllTextAsync(Path.Combine(work, "signing-key.pem"), signingKey.ExportECPrivateKeyPem());
    }

    // The issuer names replica A through the relay, so the verifiers' metadata, JWKS and feed traffic is counted.
    var portA = FreePort();
    var portB = FreePort();
    await using var relay = CountingRelay.Start(portA);
    var issuer = $"https://127.0.0.1:{relay.Port}";
    var environment = new Dictionary<string, string>
    {
        ["Broker__Issuer"] = issuer,
        ["Broker__Policy__Path"] = policy,
        ["Broker__Keys__SigningKeyFiles__0"] = Path.Combine(work, "signing-key.pem"),
        ["Broker__Redis__Configuration"] = redis.EndPoint,
        ["Kestrel__Certificates__Default__Path"] = tls.CertificateFile,
        ["Kestrel__Certificates__Default__KeyPath"] = tls.KeyFile,
        ["Logging__LogLevel__Default"] = "Warning",
    };
    using var client = new HttpClient(tls.CreateHandler()) { Timeout = TimeSpan.FromSeconds(30) };
    var replicas = await Task.WhenAll(
        BrokerReplica.StartAsync("A", brokerDll, portA, environment, client),
        BrokerReplica.StartAsync("B", brokerDll, portB, environment, client));
    await using var replicaA = replicas[0];
    await using var replicaB = replicas[1];
    Console.WriteLine($"== replicas: A {replicaA.Address} (issuer {issuer}, via the relay), B {replicaB.Address}; redis {redis.EndPoint}");

    var now = DateTimeOffset.UtcNow;
    var adminSvid = trustDomain.MintSvid("spiffe://bench.example/admins/revoker", now, TimeSpan.FromHours(1), issuer);
    List<Verifier> verifiers = [];
    try
    {
        for (var i = 1; i <= verifierCount; i++)
        {
            var credential = trustDomain.MintSvid($"spiffe://bench.example/mcp/verifier-{i}", now, TimeSpan.FromHours(1), issuer);
            verifiers.Add(await Verifier.StartAsync($"v{i}", issuer, Tenant, credential, tls));
        }

        var ready = Stopwatch.StartNew();
        while (verifiers.Any(v => v.Revoked.CurrentAsOf is null))
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("the verifiers' feeds did not become ready (no 'ready' event)");
            }

            await Task.Delay(50);
        }

        Console.WriteLine($"== {verifierCount} verifiers ready after {ready.ElapsedMilliseconds} ms: {string.Join(", ", verifiers.Select(v => $"{v.Name} {v.Address}"))}");

        using var pollClient = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var latencies = new List<double>();
        var perVerifier = verifiers.ToDictionary(v => v.Name, _ => new List<double>());
        var adminLatencies = new List<double>();
        var afterAdmin = new List<double>();
        var feedDelivered = new List<double>();
        var challenges = new Dictionary<string, int>(StringComparer.Ordinal);
        long upBefore = 0, downBefore = 0;
        var connectionsBefore = 0;
        IReadOnlyDictionary<string, int>[] callsBefore = [];
        TimeSpan cpuA = default, cpuB = default;
        var measured = Stopwatch.StartNew();

        for (var round = 1 - warmup; round <= revocations; round++)
        {
            if (round == 1)
            {
                // The measured phase starts here: everything before is warm-up (JIT, connection pools).
                upBefore = relay.BytesUp;
                downBefore = relay.BytesDown;
                connectionsBefore = relay.Connections;
                callsBefore = [.. verifiers.Select(v => v.BrokerRequests)];
                cpuA = replicaA.CpuTime;
                cpuB = replicaB.CpuTime;
                Interlocked.Exchange(ref Program.VerifiedRequests, 0);
                measured.Restart();
            }

            var agent = BenchTrustDomain.AgentId(round + warmup);
            var exchangeAt = round % 2 == 0 ? replicaA : replicaB;
            var token = await ExchangeAsync(client, exchangeAt, trustDomain.MintSvid(agent, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10), issuer));
            var grantId = GrantId(token);
            foreach (var verifier in verifiers)
            {
                var status = await CallAsync(pollClient, verifier, token);
                if (status.Status != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"{verifier.Name} refused a fresh token: {(int)status.Status} {status.Challenge}");
                }
            }

            // t0: just before the admin call leaves. Each verifier is polled concurrently until it refuses the token.
            var t0 = Stopwatch.GetTimestamp();
            var revoke = RevokeAsync(client, replicaB, adminSvid, grantId, t0);
            var polls = verifiers.Select(v => PollUntilRefusedAsync(pollClient, v, token, t0, pollInterval)).ToArray();
            var sets = verifiers.Select(v => WaitUntilInSetAsync(v, grantId, t0)).ToArray();
            var adminMs = await revoke;
            var results = await Task.WhenAll(polls);
            var inSet = await Task.WhenAll(sets);
            if (round < 1)
            {
                continue;
            }

            adminLatencies.Add(adminMs);
            for (var i = 0; i < verifiers.Count; i++)
            {
                latencies.Add(results[i].Milliseconds);
                afterAdmin.Add(results[i].Milliseconds - adminMs);
                feedDelivered.Add(inSet[i]);
                perVerifier[verifiers[i].Name].Add(results[i].Milliseconds);
                challenges[results[i].Challenge] = challenges.GetValueOrDefault(results[i].Challenge) + 1;
            }

            if (round % 50 == 0)
            {
                Console.WriteLine($"   {round}/{revocations}: p50 {Percentile(latencies, 50):F1} ms, max {latencies.Max():F1} ms; load average {LoadAverage()}");
            }
        }

        var elapsed = measured.Elapsed;
        var verifiedRequests = Interlocked.Read(ref Program.VerifiedRequests);
        var cpuAUsed = replicaA.CpuTime - cpuA;
        var cpuBUsed = replicaB.CpuTime - cpuB;
        Console.WriteLine();
        Console.WriteLine($"== revocation → first 401 at a verifier, {latencies.Count} samples ({revocations} revocations x {verifierCount} verifiers), {elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"RESULT propagation_ms p50={Percentile(latencies, 50):F1} p90={Percentile(latencies, 90):F1} p99={Percentile(latencies, 99):F1} max={latencies.Max():F1} min={latencies.Min():F1} mean={latencies.Average():F1}");
        foreach (var (name, values) in perVerifier)
        {
            Console.WriteLine($"   {name}: p50={Percentile(values, 50):F1} p99={Percentile(values, 99):F1} max={values.Max():F1}");
        }

        Console.WriteLine($"RESULT admin_revoke_ms p50={Percentile(adminLatencies, 50):F1} p90={Percentile(adminLatencies, 90):F1} p99={Percentile(adminLatencies, 99):F1} max={adminLatencies.Max():F1}");
        Console.WriteLine($"RESULT after_admin_answer_ms p50={Percentile(afterAdmin, 50):F1} p90={Percentile(afterAdmin, 90):F1} p99={Percentile(afterAdmin, 99):F1} max={afterAdmin.Max():F1} (first 401 minus the admin call's answer; negative: refused before the admin saw its answer)");
        Console.WriteLine($"RESULT in_revoked_set_ms p50={Percentile(feedDelivered, 50):F1} p90={Percentile(feedDelivered, 90):F1} p99={Percentile(feedDelivered, 99):F1} max={feedDelivered.Max():F1} (t0 to the grant in the verifier's RevokedGrantSet, checked in process every {pollInterval.TotalMilliseconds} ms, no HTTP)");
        Console.WriteLine($"   401 challenges: {string.Join("; ", challenges.Select(c => $"{c.Value} x {c.Key}"))}");

        // Zero calls to the broker per verified request: the verifiers' only broker traffic goes through the relay.
        Console.WriteLine($"RESULT verifier_to_broker during the measured phase: {relay.BytesUp - upBefore} bytes up, {relay.BytesDown - downBefore} bytes down, {relay.Connections - connectionsBefore} new connections");
        for (var i = 0; i < verifiers.Count; i++)
        {
            var after = verifiers[i].BrokerRequests;
            var during = after.Select(p => (p.Key, Count: p.Value - callsBefore[i].GetValueOrDefault(p.Key))).Where(p => p.Count != 0).ToList();
            Console.WriteLine($"   {verifiers[i].Name}: broker requests during the phase: {(during.Count == 0 ? "none" : string.Join(", ", during.Select(p => $"{p.Key} x {p.Count}")))}; since start: {string.Join(", ", after.Select(p => $"{p.Key} x {p.Value}"))}");
        }

        Console.WriteLine($"   requests the verifiers answered during the phase: {verifiedRequests} ({revocations * verifierCount} accepted before the revocations, the rest polls until the 401)");
        Console.WriteLine($"   broker CPU over the phase: A {cpuAUsed.TotalSeconds:F2} s, B {cpuBUsed.TotalSeconds:F2} s; load average {LoadAverage()}");
    }
    finally
    {
        foreach (var verifier in verifiers)
        {
            await verifier.DisposeAsync();
        }
    }

    return 0;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static async Task<string> ExchangeAsync(HttpClient client, BrokerReplica replica, string svid)
{
    using var form = new FormUrlEncodedContent(new Dictionary<string, string>
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
        ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
        ["subject_token"] = svid,
        ["resource"] = BenchTrustDomain.Resource,
        ["scope"] = BenchTrustDomain.Scope,
        ["task_id"] = BenchTrustDomain.TaskId,
        ["purpose"] = BenchTrustDomain.Purpose,
    });
    using var response = await client.PostAsync(new Uri(replica.Address, "oauth2/token"), form);
    var body = await response.Content.ReadAsStringAsync();
    if (response.StatusCode != HttpStatusCode.OK)
    {
        throw new InvalidOperationException($"exchange at replica {replica.Name} answered {(int)response.StatusCode}: {body}");
    }

    using var json = JsonDocument.Parse(body);
    return json.RootElement.GetProperty("access_token").GetString()!;
}

// The grant ID is the token's jti (docs/revocation-feed.md).
static string GrantId(string token)
{
    var payload = token.Split('.')[1];
    using var json = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(payload));
    return json.RootElement.GetProperty("jti").GetString()!;
}

static async Task<double> RevokeAsync(HttpClient client, BrokerReplica replica, string adminSvid, string grantId, long t0)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica.Address, $"admin/v1/grants/{Uri.EscapeDataString(grantId)}/revoke"))
    {
        Content = new StringContent("""{"reason":"propagation benchmark"}""", Encoding.UTF8, "application/json"),
    };
    request.Headers.Authorization = new("Bearer", adminSvid);
    using var response = await client.SendAsync(request);
    var elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    if (response.StatusCode != HttpStatusCode.OK)
    {
        throw new InvalidOperationException($"revoke at replica {replica.Name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    return elapsed;
}

static async Task<(HttpStatusCode Status, string Challenge)> CallAsync(HttpClient client, Verifier verifier, string token)
{
    Interlocked.Increment(ref Program.VerifiedRequests);
    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(verifier.Address, "tool"));
    request.Headers.Authorization = new("Bearer", token);
    using var response = await client.SendAsync(request);
    var challenge = response.Headers.WwwAuthenticate.ToString();

    // The challenge names no token, only the error and its description; the resource_metadata URL is left out.
    var error = string.Join(", ", challenge.Split(", ").Where(p => p.StartsWith("error", StringComparison.Ordinal)));
    return (response.StatusCode, error);
}

static async Task<(double Milliseconds, string Challenge)> PollUntilRefusedAsync(HttpClient client, Verifier verifier, string token, long t0, TimeSpan interval)
{
    while (Stopwatch.GetElapsedTime(t0) < TimeSpan.FromSeconds(10))
    {
        var (status, challenge) = await CallAsync(client, verifier, token);
        if (status == HttpStatusCode.Unauthorized)
        {
            return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, challenge);
        }

        if (status != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"{verifier.Name} answered {(int)status} while polling");
        }

        await Task.Delay(interval);
    }

    throw new InvalidOperationException($"{verifier.Name} still accepted a revoked token after 10 s");
}

// When the feed put the grant in the verifier's revoked set: the propagation without the HTTP poll.
static async Task<double> WaitUntilInSetAsync(Verifier verifier, string grantId, long t0)
{
    while (!verifier.Revoked.Contains(grantId))
    {
        if (Stopwatch.GetElapsedTime(t0) > TimeSpan.FromSeconds(10))
        {
            throw new InvalidOperationException($"{verifier.Name}: the grant was not in the revoked set after 10 s");
        }

        await Task.Delay(2);
    }

    return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
}

// Nearest-rank percentile.
static double Percentile(List<double> values, double percentile)
{
    var sorted = values.Order().ToList();
    var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
    return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
}

static int Option(string[] args, string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static int FreePort()
{
    using var probe = new TcpListener(IPAddress.Loopback, 0);
    probe.Start();
    return ((IPEndPoint)probe.LocalEndpoint).Port;
}

static string FindRoot()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "Broker.sln")))
        {
            return directory.FullName;
        }
    }

    throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
}

static string CpuModel() =>
    File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

internal static partial class Program
{
    /// <summary>Requests sent to the verifiers' protected endpoint.</summary>
    internal static long VerifiedRequests;

    // One tenant trusting bench.example; its admins (and the verifiers, as workloads of the tenant) are SVIDs of it.
    private const string PolicyYaml = """
        # Generated by Broker.Propagation: one tenant trusting the SPIFFE trust domain bench.example.
        tenant: bench
        max_lifetime: 15m
        admins: ["spiffe://bench.example/admins/*"]

        trust:
          spiffe:
            - trust_domain: bench.example
              bundle_file: bundle.json

        capabilities:
          - name: files.read
            resource: https://mcp.bench.example/mcp
            tools: [read_file, list_files]
            max_lifetime: 10m

        rules:
          - name: bench agents read files
            subjects: ["spiffe://bench.example/agents/*"]
            capabilities: [files.read]
            permissions: [discover, execute]
        """;
}
