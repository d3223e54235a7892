using System.Globalization;

namespace Broker.Cli.Commands;

/// <summary>Checks of command arguments, made before anything is sent; each returns an error or null.</summary>
internal static class ArgumentChecks
{
    public const int MaxLimit = 1000;
    private const int MaxReasonLength = 256;
    private const int MaxValueLength = 1024;

    /// <summary>The broker's range for <c>limit</c> (docs/admin.md: 1-1000).</summary>
    public static string? Limit(int? limit) =>
        limit is < 1 or > MaxLimit ? string.Create(CultureInfo.InvariantCulture, $"--limit must be 1-{MaxLimit}") : null;

    /// <summary>The broker's rule for a revocation reason: 1-256 printable characters.</summary>
    public static string? Reason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength || reason.Any(char.IsControl)
            ? $"--reason must be 1-{MaxReasonLength} printable characters"
            : null;

    /// <summary>A tenant, subject, task or grant id: non-empty, printable, of sane length.</summary>
    public static string? Value(string name, string? value) =>
        value is not null && (value.Length is 0 or > MaxValueLength || value.Any(char.IsControl) || value.Trim().Length == 0)
            ? $"{name} must be 1-{MaxValueLength} printable characters"
            : null;

    /// <summary>A resource URI (RFC 8707): absolute, https (or http on loopback, as a --dev broker's), no fragment.</summary>
    public static string? Resource(string name, string? value) =>
        value is not null && (value.Length > 2048 || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Fragment.Length > 0
            || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
            ? $"{name} must be an absolute https URI without a fragment (RFC 8707)"
            : null;

    /// <summary>The first error of several checks, or null.</summary>
    public static string? First(params string?[] errors) => errors.FirstOrDefault(e => e is not null);
}
