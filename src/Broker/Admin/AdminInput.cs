using Broker.Grants;

namespace Broker.Admin;

/// <summary>Bounds on what admins send: reasons end up in Redis, the audit trail and logs.</summary>
internal static class AdminInput
{
    public const int MaxReasonLength = 256;
    public const int DefaultLimit = 100;

    /// <summary>1-256 characters (UTF-16 units), not only white space, no control characters (no forged log lines).</summary>
    public static bool IsValidReason(string? reason) =>
        reason is { Length: > 0 and <= MaxReasonLength } && !string.IsNullOrWhiteSpace(reason) && !reason.Any(char.IsControl);

    public static bool IsValidGrantId(string? grantId) => GrantId.IsWellFormed(grantId);

    /// <summary>Parses <c>limit</c>: absent = default, else 1-1000.</summary>
    public static bool TryLimit(string? text, out int limit)
    {
        limit = DefaultLimit;
        return text is null || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= GrantQuery.MaxPageSize);
    }
}
