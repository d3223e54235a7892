using Microsoft.Extensions.Options;

namespace Broker.Grants;

/// <summary>
/// The Token Status List (draft-ietf-oauth-status-list), bound from <c>Broker:StatusList</c>. Defaults:
/// <see cref="Enabled"/> true, <see cref="Capacity"/> 1,048,576 indexes per tenant (a 128 KiB list),
/// <see cref="Ttl"/> 30 seconds, <see cref="Lifetime"/> 5 minutes, <see cref="ReuseMargin"/> 5 minutes.
/// </summary>
internal sealed class StatusListOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:StatusList";

    /// <summary>Largest <see cref="Capacity"/>: 2^24 indexes (a 2 MiB list), the most the Redis store packs in 3 bytes.</summary>
    public const int MaxCapacity = 1 << 24;

    /// <summary>
    /// Every capability token carries a <c>status</c> claim and each tenant's list is served at
    /// <c>/statuslists/v1/{tenant}</c> (default true). Off: tokens carry no <c>status</c>, no index is allocated,
    /// the endpoint and its metadata member are absent.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Indexes per tenant, and the size of every list in bits (default 1,048,576: 128 KiB before compression).
    /// It bounds the tokens of a tenant that are unexpired (plus <see cref="ReuseMargin"/>) at once: past it an
    /// exchange is refused with 503 until indexes come free. A multiple of 8, from 8 to 16,777,216. Raising it is
    /// harmless; lowering it below indexes in use makes verifiers refuse the tokens that carry them.
    /// </summary>
    public int Capacity { get; set; } = 1_048_576;

    /// <summary>
    /// The list token's <c>ttl</c> claim and the response's <c>Cache-Control: max-age</c>: how long a verifier may use
    /// a list before fetching it again (default 30 seconds, 1 second to 1 hour). A revocation reaches a polling
    /// verifier within about this long.
    /// </summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The list token's lifetime, <c>exp</c> − <c>iat</c> (default 5 minutes, at least <see cref="Ttl"/>, at most 1
    /// day): a verifier that cannot reach the broker keeps using its list until then, and must refuse tokens after.
    /// </summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long after a token expires its index may be given to another token (default 5 minutes, the largest clock
    /// skew Broker.Validation accepts; 0 to 1 day): a verifier whose clock is behind still accepts the old token
    /// that long, and must not read the new token's status for it.
    /// </summary>
    public TimeSpan ReuseMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The step reuse times are rounded up to (10 seconds): the stores group free indexes by it, so their
    /// bookkeeping is a few entries per step rather than one per index. Settable for tests only.
    /// </summary>
    internal TimeSpan ReuseGranularity { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Fails the start on status list settings out of their ranges.</summary>
internal sealed class StatusListOptionsValidator : IValidateOptions<StatusListOptions>
{
    public ValidateOptionsResult Validate(string? name, StatusListOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (options.Capacity is < 8 or > StatusListOptions.MaxCapacity || options.Capacity % 8 != 0)
        {
            errors.Add($"{StatusListOptions.SectionName}:Capacity must be a multiple of 8 between 8 and {StatusListOptions.MaxCapacity:N0}.");
        }

        if (options.Ttl < TimeSpan.FromSeconds(1) || options.Ttl > TimeSpan.FromHours(1))
        {
            errors.Add($"{StatusListOptions.SectionName}:Ttl must be between 1 second and 1 hour.");
        }

        if (options.Lifetime < options.Ttl || options.Lifetime > TimeSpan.FromDays(1))
        {
            errors.Add($"{StatusListOptions.SectionName}:Lifetime must be at least Ttl and at most 1 day.");
        }

        if (options.ReuseMargin < TimeSpan.Zero || options.ReuseMargin > TimeSpan.FromDays(1))
        {
            errors.Add($"{StatusListOptions.SectionName}:ReuseMargin must be between 0 and 1 day.");
        }

        if (options.ReuseGranularity < TimeSpan.FromMilliseconds(1) || options.ReuseGranularity > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{StatusListOptions.SectionName}: the reuse granularity must be between 1 millisecond and 1 minute.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
