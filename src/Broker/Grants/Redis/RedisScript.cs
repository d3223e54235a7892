using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Broker.Grants.Redis;

/// <summary>
/// A Lua script with its SHA-1, computed once: every call is an EVALSHA by that digest, and only a server that does not
/// know the script (restarted, failed over, <c>SCRIPT FLUSH</c>) is sent the text.
/// </summary>
/// <remarks>
/// Given the text, StackExchange.Redis finds the digest it sent before by looking the text up in a table on every call,
/// which hashes the whole text (the record script is ~25 KB), inside the connection's write lock. The digest is Redis's
/// name for a script, not a security measure.
/// </remarks>
internal sealed class RedisScript
{
    /// <summary>Creates the script and its digest.</summary>
    [SuppressMessage("Security", "CA5350", Justification = "SHA-1 is how Redis names a script (EVALSHA); nothing relies on it resisting collisions.")]
    public RedisScript(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        Text = text;
        Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>The Lua source.</summary>
    public string Text { get; }

    /// <summary>The SHA-1 of the UTF-8 source: the name <c>SCRIPT LOAD</c> gives it and <c>EVALSHA</c> takes.</summary>
    public byte[] Sha1 { get; }

    /// <summary>Runs the script by its digest, and by its text when the server answers <c>NOSCRIPT</c>.</summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[]? keys, RedisValue[]? values)
    {
        ArgumentNullException.ThrowIfNull(database);
        try
        {
            return await database.ScriptEvaluateAsync(Sha1, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // Nothing ran: the server refuses EVALSHA before running anything. With the text, StackExchange.Redis
            // loads the script and runs it, once.
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
