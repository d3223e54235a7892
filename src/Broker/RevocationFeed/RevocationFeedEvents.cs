using System.Text.Json.Serialization;

namespace Broker.RevocationFeed;

/// <summary>The <c>data</c> of a <c>revoked</c> event.</summary>
/// <param name="GrantId">The revoked grant (the token's <c>jti</c>).</param>
/// <param name="RevokedAt">When it was revoked, in Unix seconds.</param>
/// <param name="Exp">When the revoked token expires, in Unix seconds: a verifier may forget the entry after it.</param>
internal sealed record RevokedEventData(
    [property: JsonPropertyName("grant_id")] string GrantId,
    [property: JsonPropertyName("revoked_at")] long RevokedAt,
    [property: JsonPropertyName("exp")] long Exp);

/// <summary>The <c>data</c> of a <c>reset</c> event.</summary>
/// <param name="Reason">Why: <c>history_lost</c>.</param>
/// <param name="Since">Unix seconds: revocations before this instant may have been missed.</param>
internal sealed record ResetEventData(
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("since")] long Since);

/// <summary>The <c>data</c> of a <c>capability_withdrawn</c> event.</summary>
/// <param name="Capability">The capability no longer published.</param>
/// <param name="Resource">The resource it was published on.</param>
/// <param name="WithdrawnAt">When, in Unix seconds: tokens carrying the capability issued at or before it must be refused.</param>
/// <param name="Until">Unix seconds after which every such token has expired: a verifier may forget the entry.</param>
internal sealed record WithdrawnEventData(
    [property: JsonPropertyName("capability")] string Capability,
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("withdrawn_at")] long WithdrawnAt,
    [property: JsonPropertyName("until")] long Until);

/// <summary>Source-generated JSON for the feed's event data.</summary>
[JsonSerializable(typeof(RevokedEventData))]
[JsonSerializable(typeof(WithdrawnEventData))]
[JsonSerializable(typeof(ResetEventData))]
internal sealed partial class RevocationFeedJsonContext : JsonSerializerContext;
