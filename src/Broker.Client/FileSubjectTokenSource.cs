// Broker.Client — the agent side of the Broker.

using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Client;

/// <summary>
/// Presents a token that something else keeps current in a file, such as a Kubernetes projected
/// service-account token (<c>/var/run/secrets/tokens/broker-token</c>) or a JWT-SVID written by spiffe-helper.
/// </summary>
/// <remarks>
/// The file is read again when its size or modification time changes, and when the token it holds (if it is a
/// JWT) is within <see cref="RefreshBeforeExpiry"/> of its <c>exp</c>: the writer rotates the file before that
/// (kubelet at 80% of the lifetime), and re-reading a few hundred bytes is cheaper than presenting a token the
/// broker will refuse. Leading and trailing white space is ignored. The file is never parsed beyond <c>exp</c>;
/// the broker validates the token.
/// </remarks>
public sealed class FileSubjectTokenSource : ISubjectTokenSource, IDisposable
{
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Snapshot? _current;

    /// <summary>Creates the source. The file is first read by <see cref="GetAsync"/>.</summary>
    /// <param name="path">The token file.</param>
    /// <param name="timeProvider">Clock for the expiry rule; <see cref="TimeProvider.System"/> by default.</param>
    public FileSubjectTokenSource(string path, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The token file.</summary>
    public string Path { get; }

    /// <summary>The RFC 8693 token type of the file's token. Default <see cref="SubjectTokenTypes.Jwt"/>.</summary>
    public string TokenType { get; init; } = SubjectTokenTypes.Jwt;

    /// <summary>
    /// Largest file accepted, in bytes. Default 16 KiB, twice the broker's default token limit: a larger
    /// file is not a token, and reading it unbounded would let whoever writes it exhaust the agent's memory.
    /// </summary>
    public int MaxTokenBytes { get; init; } = 16 * 1024;

    /// <summary>How long before the token's <c>exp</c> the file is read again even if unchanged. Default 1 minute.</summary>
    public TimeSpan RefreshBeforeExpiry { get; init; } = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidOperationException">The file is empty or larger than <see cref="MaxTokenBytes"/>.</exception>
    public async ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && IsCurrent(current, FileVersion.Of(Path)))
        {
            return current.Token;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another caller may have read the new file while this one waited.
            var version = FileVersion.Of(Path);
            current = _current;
            if (current is not null && IsCurrent(current, version))
            {
                return current.Token;
            }

            var token = await ReadAsync(cancellationToken).ConfigureAwait(false);
            var snapshot = new Snapshot(new SubjectToken(token, TokenType, ExpiryOf(token)), version);
            Volatile.Write(ref _current, snapshot);
            return snapshot.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private bool IsCurrent(Snapshot snapshot, FileVersion version) =>
        snapshot.Version == version
        && (snapshot.Token.ExpiresAt is not { } expiresAt || _timeProvider.GetUtcNow() < expiresAt - RefreshBeforeExpiry);

    private async Task<string> ReadAsync(CancellationToken cancellationToken)
    {
        var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            // Read one byte past the limit instead of trusting Length: the file may grow while it is read.
            var buffer = new byte[MaxTokenBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false)) > 0)
            {
                read += n;
            }

            if (read > MaxTokenBytes)
            {
                throw new InvalidOperationException($"broker-client: the token file '{Path}' is larger than {MaxTokenBytes} bytes.");
            }

            var token = Encoding.UTF8.GetString(buffer, 0, read).Trim();
            return token.Length > 0
                ? token
                : throw new InvalidOperationException($"broker-client: the token file '{Path}' is empty.");
        }
    }

    private static DateTimeOffset? ExpiryOf(string token)
    {
        // Reading exp needs no signature check: it only decides when to look at the file again.
        if (token.Count(c => c == '.') != 2)
        {
            return null;
        }

        try
        {
            var jwt = new JsonWebToken(token);
            return jwt.TryGetPayloadValue<long>("exp", out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private sealed record Snapshot(SubjectToken Token, FileVersion Version);

    private readonly record struct FileVersion(DateTime LastWriteUtc, long Length)
    {
        // FileInfo follows symbolic links, so kubelet's atomic "..data" symlink swap shows up as a change.
        public static FileVersion Of(string path)
        {
            var info = new FileInfo(path);
            return info.Exists
                ? new FileVersion(info.LastWriteTimeUtc, info.Length)
                : throw new FileNotFoundException($"broker-client: the token file '{path}' does not exist.", path);
        }
    }
}
