using System.Globalization;
using BenchmarkDotNet.Attributes;
using Broker.Validation.Revocation;

namespace Broker.Benchmarks;

/// <summary>
/// The revocation check alone, as <see cref="ValidationBenchmarks"/>' Broker.Validation cases make it once per
/// token: <see cref="RevokedGrantSet"/>'s <c>CheckAsync(RevocationQuery)</c> (through <see cref="IRevocationCheck"/>,
/// as the scheme calls it) for a grant that is not revoked, with 0 or 100,000 revoked grants in the set.
/// </summary>
public class RevokedSetBenchmarks
{
    private IRevocationCheck _check = null!;
    private RevocationQuery[] _queries = [];
    private int _next;

    [Params(0, 100_000)]
    public int Revoked { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var set = new RevokedGrantSet(TimeProvider.System);
        var keepUntil = DateTimeOffset.UtcNow.AddHours(2);
        for (var i = 0; i < Revoked; i++)
        {
            set.Add("revoked-" + i.ToString("D8", CultureInfo.InvariantCulture), keepUntil);
        }

        _check = set;
        var now = DateTimeOffset.UtcNow;
        _queries = [.. Enumerable.Range(0, 64).Select(_ => new RevocationQuery(Guid.NewGuid().ToString("N"), now))];
    }

    [Benchmark]
    public async Task<bool> CheckNotRevoked()
    {
        var status = await _check.CheckAsync(_queries[_next++ & 63], CancellationToken.None);
        return status.Revoked ? throw new InvalidOperationException("A bench grant was reported revoked.") : true;
    }
}
