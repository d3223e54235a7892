using Microsoft.Extensions.Options;

namespace Broker.Grants;

/// <summary>
/// Grant store settings, bound from <c>Broker:Grants</c>. Defaults: <see cref="Retention"/> 15 minutes,
/// <see cref="RevocationStreamRetention"/> 24 hours, <see cref="RevocationStreamMaxLength"/> 100,000,
/// <see cref="AuditRetention"/> 7 days, <see cref="AuditMaxLength"/> 100,000, <see cref="GlobalAuditMaxLength"/> 100,000.
/// </summary>
internal sealed class GrantsOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Grants";

    /// <summary>
    /// How long a grant record stays after its token expired (default 15 minutes), so that status lookups say
    /// Expired or Revoked rather than Unknown while verifiers may still accept the token within their clock skew.
    /// Memory grows with it: the store holds grants for (lifetime + retention).
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long revocation stream entries are kept (default 24 hours). A feed reader offline for longer must
    /// resynchronise from the status list. Must exceed the longest token lifetime.
    /// </summary>
    public TimeSpan RevocationStreamRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Upper bound on revocation stream entries kept per stream (default 100,000); trimmed approximately.</summary>
    public int RevocationStreamMaxLength { get; set; } = 100_000;

    /// <summary>
    /// How long audit events are kept in the store (default 7 days). The store holds the recent trail for admins;
    /// long-term retention belongs in the log pipeline.
    /// </summary>
    public TimeSpan AuditRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Upper bound on audit events kept per stream (default 100,000); trimmed approximately.</summary>
    public int AuditMaxLength { get; set; } = 100_000;

    /// <summary>
    /// Upper bound on the global audit stream (default 100,000): events with no known tenant, such as refusals before
    /// a subject validated. Capped apart from the tenants' streams, so that anonymous traffic can only push out
    /// other anonymous traffic.
    /// </summary>
    public int GlobalAuditMaxLength { get; set; } = 100_000;
}

/// <summary>Rejects grant store settings that would lose revocations or grow without bound.</summary>
internal sealed class GrantsOptionsValidator : IValidateOptions<GrantsOptions>
{
    public ValidateOptionsResult Validate(string? name, GrantsOptions options)
    {
        List<string> errors = [];
        if (options.Retention < TimeSpan.Zero || options.Retention > TimeSpan.FromDays(7))
        {
            errors.Add($"{GrantsOptions.SectionName}:Retention must be between 0 and 7 days.");
        }

        if (options.RevocationStreamRetention < TimeSpan.FromMinutes(1) || options.RevocationStreamRetention > TimeSpan.FromDays(30))
        {
            errors.Add($"{GrantsOptions.SectionName}:RevocationStreamRetention must be between 1 minute and 30 days.");
        }

        if (options.RevocationStreamMaxLength is < 100 or > 10_000_000)
        {
            errors.Add($"{GrantsOptions.SectionName}:RevocationStreamMaxLength must be between 100 and 10,000,000.");
        }

        if (options.AuditRetention < TimeSpan.FromMinutes(1) || options.AuditRetention > TimeSpan.FromDays(90))
        {
            errors.Add($"{GrantsOptions.SectionName}:AuditRetention must be between 1 minute and 90 days.");
        }

        if (options.AuditMaxLength is < 100 or > 10_000_000)
        {
            errors.Add($"{GrantsOptions.SectionName}:AuditMaxLength must be between 100 and 10,000,000.");
        }

        if (options.GlobalAuditMaxLength is < 100 or > 10_000_000)
        {
            errors.Add($"{GrantsOptions.SectionName}:GlobalAuditMaxLength must be between 100 and 10,000,000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
