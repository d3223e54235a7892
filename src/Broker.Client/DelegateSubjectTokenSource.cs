// Broker.Client — the agent side of the Broker.

namespace Broker.Client;

/// <summary>A subject token source backed by a delegate, for tokens obtained in ways this library does not know.</summary>
/// <param name="getToken">Returns a current token; must be thread-safe.</param>
public sealed class DelegateSubjectTokenSource(Func<CancellationToken, ValueTask<SubjectToken>> getToken) : ISubjectTokenSource
{
    private readonly Func<CancellationToken, ValueTask<SubjectToken>> _getToken = getToken ?? throw new ArgumentNullException(nameof(getToken));

    /// <inheritdoc />
    public ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken) => _getToken(cancellationToken);
}
