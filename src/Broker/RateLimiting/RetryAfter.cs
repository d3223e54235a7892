using Broker.Errors;

namespace Broker.RateLimiting;

/// <summary>The <c>Retry-After</c> of a refusal, for <see cref="ErrorWriter"/>.</summary>
internal static class RetryAfter
{
    /// <summary>Whole seconds, rounded up so a retry is never early (RFC 9110 §10.2.3).</summary>
    public static ErrorResponseOptions Options(TimeSpan delay, string? scheme = null) =>
        new(Scheme: scheme, RetryAfterSeconds: (int)Math.Min(int.MaxValue, Math.Ceiling(delay.TotalSeconds)));
}
