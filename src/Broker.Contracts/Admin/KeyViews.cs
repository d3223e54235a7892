namespace Broker.Contracts.Admin;

/// <summary>The ring as <c>GET /admin/v1/keys</c> returns it.</summary>
/// <param name="Store"><c>redis</c> (shared, rotating) or <c>files</c> (PEM files, fixed).</param>
/// <param name="Version">The ring's version in Redis; none for files.</param>
/// <param name="Keys">Every key still published or due to be, in activation order.</param>
public sealed record KeyListView(string Store, long? Version, IReadOnlyList<KeyView> Keys);

/// <summary>One key of the ring.</summary>
/// <param name="Kid">The key's <c>kid</c>.</param>
/// <param name="State"><c>next</c>, <c>active</c> or <c>retired</c>.</param>
/// <param name="Origin"><c>generated</c> by the ring or <c>imported</c> into it; <c>file</c> for a PEM-file key.</param>
/// <param name="CreatedAt">When it was made; none for a file key.</param>
/// <param name="ActivatesAt">When it signs (or signed) from.</param>
/// <param name="RetiredAt">When it stopped signing.</param>
/// <param name="RemoveAt">When it leaves the JWKS.</param>
public sealed record KeyView(string Kid, string State, string Origin, DateTimeOffset? CreatedAt, DateTimeOffset? ActivatesAt, DateTimeOffset? RetiredAt, DateTimeOffset? RemoveAt);

/// <summary>The answer to a rotation (<c>POST /admin/v1/keys/rotate</c>): the key that signs from <c>activates_at</c>, and the one it replaces.</summary>
/// <param name="Kid">The new key.</param>
/// <param name="ActivatesAt">When it starts to sign.</param>
/// <param name="PreviousKid">The key it replaces, retired then.</param>
/// <param name="PreviousRemoveAt">When the replaced key leaves the JWKS.</param>
public sealed record KeyRotationView(string Kid, DateTimeOffset ActivatesAt, string? PreviousKid, DateTimeOffset? PreviousRemoveAt);

/// <summary>The answer to a retirement (<c>POST /admin/v1/keys/{kid}/retire</c>).</summary>
/// <param name="Kid">The key.</param>
/// <param name="Result"><c>retired</c> or <c>already_retired</c>.</param>
/// <param name="RetiredAt">When it stopped signing.</param>
/// <param name="RemoveAt">Until when it stays published.</param>
public sealed record KeyRetirementView(string Kid, string Result, DateTimeOffset? RetiredAt, DateTimeOffset? RemoveAt);
