// Broker.Client — the agent side of the Broker.

using Broker.Spiffe.WorkloadApi;

namespace Broker.Client;

/// <summary>
/// Presents the agent's JWT-SVID from the SPIFFE Workload API. The SVID's audience is the broker (its issuer
/// URL or configured audience), so the SVID cannot be replayed against any other service.
/// </summary>
public sealed class JwtSvidSubjectTokenSource : ISubjectTokenSource
{
    private readonly JwtSource _source;
    private readonly string _audience;

    /// <summary>Creates the source.</summary>
    /// <param name="source">A started JWT source; caching and renewal of SVIDs are its job. Not owned.</param>
    /// <param name="audience">The audience the broker requires in JWT-SVIDs, usually its issuer URL.</param>
    public JwtSvidSubjectTokenSource(JwtSource source, string audience)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(audience);
        _source = source;
        _audience = audience;
    }

    /// <inheritdoc />
    public async ValueTask<SubjectToken> GetAsync(CancellationToken cancellationToken)
    {
        var svid = await _source.FetchJwtSvidAsync(_audience, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new SubjectToken(svid.Marshal(), SubjectTokenTypes.Jwt, svid.Expiry);
    }
}
