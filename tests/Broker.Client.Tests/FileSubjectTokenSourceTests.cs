using System.Text;
using Broker.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Client.Tests;

public sealed class FileSubjectTokenSourceTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _clock = new(Start);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task GetAsync_FileRotated_ReturnsTheNewToken()
    {
        // Arrange
        var path = _directory.Write("broker-token", Jwt("first", Start.AddHours(1)) + "\n");
        using var source = new FileSubjectTokenSource(path, _clock);
        var first = await source.GetAsync(default);

        // Act: the writer replaces the file atomically, as kubelet does.
        var next = _directory.Write("broker-token.tmp", Jwt("second", Start.AddHours(2)));
        File.Move(next, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(5));
        var second = await source.GetAsync(default);

        // Assert
        Assert.Equal(Jwt("first", Start.AddHours(1)), first.Token);
        Assert.Equal(Start.AddHours(1), first.ExpiresAt);
        Assert.Equal(Jwt("second", Start.AddHours(2)), second.Token);
        Assert.Equal(Start.AddHours(2), second.ExpiresAt);
        Assert.Equal(SubjectTokenTypes.Jwt, second.TokenType);
    }

    [Fact]
    public async Task GetAsync_FileUnchanged_ServedWithoutReReading()
    {
        // Arrange
        var path = _directory.Write("broker-token", Jwt("first", Start.AddHours(1)));
        using var source = new FileSubjectTokenSource(path, _clock);
        var first = await source.GetAsync(default);
        var written = File.GetLastWriteTimeUtc(path);

        // Act: same size and time, different bytes — only a re-read would notice.
        File.WriteAllText(path, Jwt("other", Start.AddHours(1)));
        File.SetLastWriteTimeUtc(path, written);
        var second = await source.GetAsync(default);

        // Assert
        Assert.Same(first, second);
    }

    [Fact]
    public async Task GetAsync_TokenNearExpiry_ReReadsEvenIfTheFileLooksUnchanged()
    {
        // Arrange
        var path = _directory.Write("broker-token", Jwt("first", Start.AddMinutes(10)));
        using var source = new FileSubjectTokenSource(path, _clock) { RefreshBeforeExpiry = TimeSpan.FromMinutes(2) };
        await source.GetAsync(default);
        var written = File.GetLastWriteTimeUtc(path);
        File.WriteAllText(path, Jwt("other", Start.AddMinutes(10)));
        File.SetLastWriteTimeUtc(path, written);

        // Act
        _clock.Advance(TimeSpan.FromMinutes(7));
        var early = await source.GetAsync(default);
        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var nearExpiry = await source.GetAsync(default);

        // Assert
        Assert.Equal(Jwt("first", Start.AddMinutes(10)), early.Token);
        Assert.Equal(Jwt("other", Start.AddMinutes(10)), nearExpiry.Token);
    }

    [Fact]
    public async Task GetAsync_OpaqueToken_NoExpiryAndTrimmed()
    {
        // Arrange
        var path = _directory.Write("token", "  opaque-token \r\n");
        using var source = new FileSubjectTokenSource(path, _clock) { TokenType = SubjectTokenTypes.AccessToken };

        // Act
        var token = await source.GetAsync(default);

        // Assert
        Assert.Equal("opaque-token", token.Token);
        Assert.Null(token.ExpiresAt);
        Assert.Equal(SubjectTokenTypes.AccessToken, token.TokenType);
    }

    [Fact]
    public async Task GetAsync_FileLargerThanTheLimit_Throws()
    {
        // Arrange
        var path = _directory.Write("token", new string('a', 2049));
        using var source = new FileSubjectTokenSource(path, _clock) { MaxTokenBytes = 2048 };

        // Act
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await source.GetAsync(default));

        // Assert
        Assert.Contains("larger than 2048 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetAsync_EmptyOrMissingFile_Throws()
    {
        // Arrange
        var empty = _directory.Write("empty", "\n");
        using var emptySource = new FileSubjectTokenSource(empty, _clock);
        using var missingSource = new FileSubjectTokenSource(Path.Combine(_directory.Path, "missing"), _clock);

        // Act + Assert
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await emptySource.GetAsync(default));
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await missingSource.GetAsync(default));
    }

    /// <summary>An unsigned JWT-shaped token; the source reads only exp.</summary>
    private static string Jwt(string subject, DateTimeOffset expiresAt) =>
        Base64UrlEncoder.Encode("""{"alg":"ES256","typ":"JWT"}""") + "."
        + Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes($$"""{"sub":"{{subject}}","exp":{{expiresAt.ToUnixTimeSeconds()}}}""")) + ".c2ln";
}
