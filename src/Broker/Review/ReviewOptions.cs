using Broker.Policy.Review;
using Microsoft.Extensions.Options;

namespace Broker.Review;

/// <summary>
/// The access review's grant counters, bound from <c>Broker:Review</c>. Defaults: <see cref="FlushInterval"/> 10
/// seconds, <see cref="QueueCapacity"/> 65,536, <see cref="MaxIdentitiesPerDay"/> 10,000, <see cref="RetentionDays"/> 90.
/// </summary>
/// <remarks>
/// Counts are written off the exchange's path: a recorded grant is handed to a bounded in-process queue, and a
/// background flusher adds the queue's counts to the store once per interval. So counts lag grants by up to one
/// interval, and a replica that dies loses at most the interval it had not flushed (the grants themselves are recorded
/// with the exchange and never lost: the review is an audit aid, not the record).
/// </remarks>
internal sealed class ReviewOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Review";

    /// <summary>How often counts are written to the store (default 10 seconds; 1 second to 5 minutes).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most grants' counts waiting for a flush (default 65,536; 1,024 to 1,048,576). When full, a count is kept only as
    /// the day's overflow (its identity is lost), never by slowing the exchange.
    /// </summary>
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Most distinct (capability, identity) pairs counted per tenant per UTC day (default 10,000; 100 to 1,000,000); grants
    /// past it count in the day's overflow, which the review reports.
    /// </summary>
    public int MaxIdentitiesPerDay { get; set; } = 10_000;

    /// <summary>
    /// How many UTC days of counts are kept (default 90, the longest window a review may ask for; 1 to 90). In Redis each
    /// day's hash expires this many days + 1 after its last write.
    /// </summary>
    public int RetentionDays { get; set; } = ReviewLimits.MaxDays;
}

/// <summary>Rejects counter settings that would be unbounded or useless.</summary>
internal sealed class ReviewOptionsValidator : IValidateOptions<ReviewOptions>
{
    public ValidateOptionsResult Validate(string? name, ReviewOptions options)
    {
        List<string> errors = [];
        if (options.FlushInterval < TimeSpan.FromSeconds(1) || options.FlushInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{ReviewOptions.SectionName}:FlushInterval must be between 1 second and 5 minutes.");
        }

        if (options.QueueCapacity is < 1024 or > 1_048_576)
        {
            errors.Add($"{ReviewOptions.SectionName}:QueueCapacity must be between 1,024 and 1,048,576.");
        }

        if (options.MaxIdentitiesPerDay is < 100 or > 1_000_000)
        {
            errors.Add($"{ReviewOptions.SectionName}:MaxIdentitiesPerDay must be between 100 and 1,000,000.");
        }

        if (options.RetentionDays is < 1 or > ReviewLimits.MaxDays)
        {
            errors.Add($"{ReviewOptions.SectionName}:RetentionDays must be between 1 and {ReviewLimits.MaxDays}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
