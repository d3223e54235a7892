using System.Text.Json.Serialization;

namespace Broker.Keys;

/// <summary>
/// One signing key as the shared ring stores it. Its state is not stored but follows from its times and the clock
/// (<see cref="KeyRingSchedule"/>), so every replica switches keys at the same instant without being told.
/// </summary>
internal sealed record StoredKey
{
    /// <summary>The RFC 7638 thumbprint, as in the JWKS.</summary>
    public required string Kid { get; init; }

    /// <summary>When the key joined the ring: it is published from then on.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it starts signing; always at least the safe publication delay after <see cref="CreatedAt"/>, except for the very first key of a ring.</summary>
    public required DateTimeOffset ActivatesAt { get; init; }

    /// <summary>When it stopped (or stops) signing, once known; null while it is next or active.</summary>
    public DateTimeOffset? RetiredAt { get; init; }

    /// <summary>When it leaves the JWKS: retirement plus the longest a token it signed can live.</summary>
    public DateTimeOffset? RemoveAt { get; init; }

    /// <summary><c>generated</c> by the ring, or <c>imported</c> from a PEM file.</summary>
    public required string Origin { get; init; }

    /// <summary>The public point, base64url (RFC 7518 §6.2.1.2-3).</summary>
    public required string X { get; init; }

    /// <summary>The public point, base64url.</summary>
    public required string Y { get; init; }

    /// <summary>The PKCS#8 private key encrypted with Data Protection, base64url. Never the key itself.</summary>
    public required string ProtectedPrivateKey { get; init; }
}

/// <summary>Where a key came from.</summary>
internal static class KeyOrigins
{
    public const string Generated = "generated";
    public const string Imported = "imported";
}

/// <summary>The JSON of the stored ring (<c>{"keys": [...]}</c>); its version is kept beside it.</summary>
internal sealed record StoredKeyRing([property: JsonPropertyName("keys")] IReadOnlyList<StoredKey> Keys);

/// <summary>The ring as read: its keys and the version a compare-and-set must name.</summary>
internal sealed record VersionedKeyRing(long Version, IReadOnlyList<StoredKey> Keys)
{
    public static readonly VersionedKeyRing Empty = new(0, []);
}

/// <summary>Source-generated JSON for the stored ring and the JWKS (the key admin API's bodies are shared with brokerctl: <see cref="Contracts.Admin.AdminApiJsonContext"/>).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StoredKeyRing))]
[JsonSerializable(typeof(JwksDocument))]
internal sealed partial class KeysJsonContext : JsonSerializerContext;
