namespace Broker.Grants.InMemory;

/// <summary>
/// A tenant's status list and its free indexes, as the Redis record script keeps them (<see cref="StatusIndexing"/>).
/// Not thread-safe: the store calls it under its lock.
/// </summary>
internal sealed class InMemoryStatusList
{
    /// <summary>Free indexes by the time they may be reused (Unix ms), the last freed taken first, as in Redis.</summary>
    private readonly SortedDictionary<long, List<int>> _free = [];
    private byte[] _bits = [];
    private int _next;

    public ReadOnlySpan<byte> Bits => _bits;

    /// <summary>An index for a grant, or null when every index is in use.</summary>
    public int? Allocate(StatusIndexPlan plan, long now)
    {
        int? chosen = null;
        for (var attempt = 0; attempt < StatusIndexing.MaxReuseAttempts && _free.Count > 0; attempt++)
        {
            var (due, indexes) = _free.First();
            if (due > now)
            {
                break;
            }

            var index = indexes[^1];
            indexes.RemoveAt(indexes.Count - 1);
            if (indexes.Count == 0)
            {
                _free.Remove(due);
            }

            if (!StatusIndexing.Get(_bits, index))
            {
                chosen = index;
                break;
            }

            // Still marked revoked: cleared now, handed out once no list showing the mark can be in use.
            StatusIndexing.Set(_bits, index, false);
            Free(index, plan.QuarantineUntil);
        }

        if (chosen is null)
        {
            if (_next >= plan.Capacity)
            {
                return null;
            }

            chosen = _next++;
        }

        Free(chosen.Value, plan.ReusableAt);
        return chosen;
    }

    public void Revoke(int index)
    {
        if (index >> 3 >= _bits.Length)
        {
            Array.Resize(ref _bits, Math.Max((index >> 3) + 1, _bits.Length * 2));
        }

        StatusIndexing.Set(_bits, index, true);
    }

    private void Free(int index, long at)
    {
        if (!_free.TryGetValue(at, out var indexes))
        {
            _free[at] = indexes = [];
        }

        indexes.Add(index);
    }
}
