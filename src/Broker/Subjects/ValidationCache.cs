using System.Collections.Concurrent;
using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Subjects;

/// <summary>
/// Identities of tokens validated recently, by token hash. Bounded: when full, expired entries are
/// swept, and if that frees nothing the cache is cleared (a burst of distinct tokens costs
/// re-validation, never unbounded memory).
/// </summary>
internal sealed class ValidationCache
{
    private readonly ConcurrentDictionary<TokenHash, WorkloadIdentity> _entries = new();
    private readonly ValidationCacheOptions _options;
    private readonly TimeProvider _timeProvider;

    public ValidationCache(IOptions<SubjectsOptions> options, TimeProvider timeProvider, IPolicyProvider policy)
    {
        _options = options.Value.ValidationCache;
        _timeProvider = timeProvider;

        // A new policy may map claims to identities differently or drop a source: start afresh.
        policy.Changed += _ => Clear();
    }

    public bool Enabled => _options.Enabled;

    public int Count => _entries.Count;

    public bool TryGet(TokenHash hash, out WorkloadIdentity? identity)
    {
        identity = null;
        if (!_options.Enabled || !_entries.TryGetValue(hash, out var found))
        {
            return false;
        }

        if (found.ExpiresAt <= _timeProvider.GetUtcNow())
        {
            _entries.TryRemove(hash, out _);
            return false;
        }

        identity = found;
        return true;
    }

    public void Add(TokenHash hash, WorkloadIdentity identity)
    {
        if (!_options.Enabled)
        {
            return;
        }

        if (_entries.Count >= _options.MaxEntries)
        {
            Sweep();
            if (_entries.Count >= _options.MaxEntries)
            {
                _entries.Clear();
            }
        }

        _entries[hash] = identity;
    }

    public void Remove(TokenHash hash) => _entries.TryRemove(hash, out _);

    public void Clear() => _entries.Clear();

    private void Sweep()
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var (key, value) in _entries)
        {
            if (value.ExpiresAt <= now)
            {
                _entries.TryRemove(key, out _);
            }
        }
    }
}
