using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Grants;
using Broker.Keys;
using Broker.Tokens;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.StatusList;

/// <summary>
/// Builds each tenant's Status List Token (draft-ietf-oauth-status-list §5.1) and keeps it for
/// <see cref="RebuildInterval"/>, so that a storm of polls costs one store read, one compression and one signature per
/// tenant and interval on each replica. Concurrent requests for an expired entry share one build.
/// </summary>
internal sealed class StatusListTokens(
    IGrantStore store,
    ISigningKeyProvider keys,
    StatusListUris uris,
    IOptions<BrokerOptions> broker,
    IOptions<StatusListOptions> options,
    TimeProvider timeProvider,
    ILogger<StatusListTokens> logger)
{
    /// <summary>The JOSE <c>typ</c> of a list token (§5.1).</summary>
    public const string TokenType = "statuslist+jwt";

    /// <summary>The media type of the response (§8.2).</summary>
    public const string MediaType = "application/statuslist+jwt";

    /// <summary>
    /// How long a built list is served as it is. Short against <see cref="StatusListOptions.Ttl"/>: it adds at most
    /// this much to the time a revocation takes to reach a polling verifier.
    /// </summary>
    public static readonly TimeSpan RebuildInterval = TimeSpan.FromSeconds(1);

    private static readonly Dictionary<string, object> Header = new(StringComparer.Ordinal) { ["typ"] = TokenType };

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);
    private readonly string _issuer = broker.Value.Issuer!;
    private readonly StatusListOptions _options = options.Value;

    /// <summary>The current list token of <paramref name="tenant"/> (a tenant of the policy: the caller checked).</summary>
    public async Task<StatusListToken> GetAsync(string tenant, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = timeProvider.GetTimestamp();
            if (_cache.TryGetValue(tenant, out var entry)
                && !entry.Build.IsFaulted && !entry.Build.IsCanceled
                && timeProvider.GetElapsedTime(entry.Started, now) < RebuildInterval)
            {
                return await entry.Build.WaitAsync(cancellationToken);
            }

            // Single flight: whoever replaces the entry builds; everyone else awaits that build. The build itself is
            // not cancelled with one caller's request: the others are waiting for it too.
            var fresh = new Entry(now, new Lazy<Task<StatusListToken>>(() => BuildAsync(tenant)));
            var won = entry is null ? _cache.TryAdd(tenant, fresh) : _cache.TryUpdate(tenant, fresh, entry);
            if (won)
            {
                return await fresh.Build.WaitAsync(cancellationToken);
            }
        }
    }

    private async Task<StatusListToken> BuildAsync(string tenant)
    {
        // iat before the read (and rounded down): the list then holds every revocation made before its iat, which
        // is what a verifier takes it to vouch for.
        var issuedAt = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var bits = await store.ReadStatusListAsync(tenant, CancellationToken.None) ?? [];

        // The whole capacity is served, not only the indexes used so far: a verifier holding this list can still read
        // an index handed out after it was built (§8.3 step 6 refuses an index out of bounds), and the list does not
        // tell how many tokens the tenant holds (§13.3). The zeros cost next to nothing once compressed.
        var list = new byte[Math.Max(_options.Capacity / 8, bits.Length)];
        bits.CopyTo(list, 0);
        var lst = Compress(list);

        var payload = WritePayload(uris.For(tenant), issuedAt, lst);
        var jwt = _handler.CreateToken(payload, keys.Active.Credentials, Header);
        var body = Encoding.ASCII.GetBytes(jwt);
        Log.StatusListBuilt(logger, tenant, lst.Length);
        return new StatusListToken(body, "\"" + Base64Url.EncodeToString(SHA256.HashData(body).AsSpan(0, 16)) + "\"");
    }

    /// <summary>§4.1: DEFLATE in the ZLIB format (RFC 1950), at the highest compression level, as the draft recommends.</summary>
    internal static string Compress(byte[] list)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write(list);
        }

        return Base64Url.EncodeToString(output.GetBuffer().AsSpan(0, (int)output.Length));
    }

    /// <summary>§5.1 claims: <c>sub</c> the list URI, <c>iat</c>, <c>exp</c>, <c>ttl</c>, <c>status_list</c>; and <c>iss</c>.</summary>
    private string WritePayload(string uri, long issuedAt, string lst)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + lst.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(JwtRegisteredClaimNames.Iss, _issuer);
            writer.WriteString(JwtRegisteredClaimNames.Sub, uri);
            writer.WriteNumber(JwtRegisteredClaimNames.Iat, issuedAt);
            writer.WriteNumber(JwtRegisteredClaimNames.Exp, issuedAt + (long)_options.Lifetime.TotalSeconds);
            writer.WriteNumber("ttl", (long)_options.Ttl.TotalSeconds);
            writer.WriteStartObject("status_list");
            writer.WriteNumber("bits", 1);
            writer.WriteString("lst", lst);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed record Entry(long Started, Lazy<Task<StatusListToken>> Lazy)
    {
        public Task<StatusListToken> Build => Lazy.Value;
    }
}

/// <summary>A built list token: the compact JWS as sent, and its strong entity tag (RFC 9110 §8.8.3).</summary>
internal sealed record StatusListToken(byte[] Body, string ETag);
