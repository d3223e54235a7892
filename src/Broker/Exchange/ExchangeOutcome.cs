using Broker.Errors;
using Broker.Grants;

namespace Broker.Exchange;

/// <summary>The result of one exchange: a closed set, mapped to HTTP once in <see cref="TokenEndpoint"/>.</summary>
internal abstract record ExchangeOutcome
{
    private ExchangeOutcome()
    {
    }

    /// <summary>A token was minted and its grant recorded.</summary>
    internal sealed record Issued(TokenExchangeResponse Response, GrantRecord Grant) : ExchangeOutcome;

    /// <summary>Refused; the reason is safe to return. <paramref name="RetryAfter"/> is the delay a 429 names.</summary>
    internal sealed record Rejected(ErrorDescriptor Reason, TimeSpan? RetryAfter = null) : ExchangeOutcome;
}
