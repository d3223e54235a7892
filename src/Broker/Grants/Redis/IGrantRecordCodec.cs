using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// The stored form of a grant in Redis, both ways: what the record script is given to build a record, and the grant
/// read back from what the read script returns. The scripts build and take apart the same form in Lua
/// (<see cref="RedisGrantScripts"/>); <see cref="RedisGrantRecordCodec"/> describes it.
/// </summary>
/// <remarks>
/// Decoding refuses, with <see cref="InvalidOperationException"/>, anything the scripts could not have written: a
/// stored value is never input from a caller, so a malformed one is corruption or a bug, and the store fails closed
/// on it rather than guess.
/// </remarks>
internal interface IGrantRecordCodec
{
    /// <summary>
    /// The record script's arguments for <paramref name="grant"/>, recorded at <paramref name="now"/> (Unix ms): record
    /// positions 1 to 16 (<c>""</c> for absent), then the parent's ID without its routing tag (<c>""</c> for none).
    /// </summary>
    /// <exception cref="ArgumentException">A capability or actor identity is empty or contains a space.</exception>
    RedisValue[] Encode(GrantRecord grant, long now);

    /// <summary>The grant stored as <paramref name="stored"/> under the ID <paramref name="grantId"/>, read at <paramref name="now"/> (Unix ms).</summary>
    /// <exception cref="InvalidOperationException">The stored value is malformed.</exception>
    GrantRecord Decode(string grantId, StoredGrant stored, long now);

    /// <summary>A revocation mark as the revoke script writes it (<c>cjson</c>: <c>at</c>, <c>by</c>, <c>why</c>).</summary>
    /// <exception cref="InvalidOperationException">The mark is malformed.</exception>
    GrantRevocation DecodeRevocation(string mark);
}

/// <summary>A grant as the read script returns it.</summary>
/// <param name="Record">The record value (<see cref="RedisGrantKeys.Grant"/>).</param>
/// <param name="Strings">
/// For record positions 3 to 16 in order, the dictionary string of each position that holds a number; null for the
/// others. Looked up in the same atomic step as the record is read.
/// </param>
/// <param name="RevocationMark">The revocation mark (<see cref="RedisGrantKeys.Revocation"/>); null while active.</param>
internal readonly record struct StoredGrant(ReadOnlyMemory<byte> Record, IReadOnlyList<byte[]?> Strings, string? RevocationMark);
