// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>Supplies the token the agent presents to the broker. Implementations are thread-safe.</summary>
public interface ISubjectTokenSource
{
    /// <summary>
    /// Gets a current token. Called for every exchange; implementations cache and refresh as the token's
    /// issuer requires.
    /// </summary>
    ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken);
}
