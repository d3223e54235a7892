using System.Collections.Frozen;

namespace Broker.Policy;

/// <summary>
/// The trust entries of one identity source (<see cref="TrustDomainSource.Tenants"/>, <see cref="OidcIssuerSource.Tenants"/>)
/// indexed by the literal start of their subject patterns, so that placing an identity in its tenant costs the same
/// with one tenant on the source or a thousand (one SPIRE trust domain serving every tenant by path): instead of
/// trying every entry, <see cref="Candidates"/> yields only the entries that can match, and the caller still decides
/// with <see cref="TenantBinding.Matches"/>.
/// </summary>
/// <remarks>
/// Every entry that matches an identity is a candidate: an entry without subjects (it accepts every identity of the
/// source) or with a pattern bound to an issuer is always one; an exact pattern is found under the identity itself; a
/// wildcard pattern (<c>spiffe://td/a/b/*/…</c>) under its literal start up to and including the slash before its first
/// wildcard segment (<c>spiffe://td/a/b/</c>), which every identity it matches starts with, and which the lookup finds
/// by trying the identity's prefixes that end at a slash. A candidate may be yielded more than once; both callers
/// (tenant resolution and the principal kind) give the same answer whatever the order and repetition.
/// </remarks>
public sealed class TenantBindingIndex
{
    private readonly IReadOnlyList<TenantBinding> _bindings;
    private readonly int[] _always;
    private readonly FrozenDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _byKey;

    /// <summary>Indexes <paramref name="bindings"/> (the entries of one source, in file order).</summary>
    public TenantBindingIndex(IReadOnlyList<TenantBinding> bindings)
    {
        ArgumentNullException.ThrowIfNull(bindings);
        _bindings = bindings;
        var always = new List<int>();
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < bindings.Count; i++)
        {
            var subjects = bindings[i].Subjects;
            if (subjects.Count == 0 || subjects.Any(p => p.IndexKey is null))
            {
                always.Add(i);
                continue;
            }

            foreach (var key in subjects.Select(p => p.IndexKey!).Distinct(StringComparer.Ordinal))
            {
                if (!byKey.TryGetValue(key, out var list))
                {
                    byKey[key] = list = [];
                }

                list.Add(i);
            }
        }

        _always = [.. always];
        _byKey = byKey.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The entries that may match <paramref name="identity"/>: a superset of those that do, without allocating.</summary>
    public CandidateEnumerator Candidates(string identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new CandidateEnumerator(this, identity);
    }

    /// <summary>Walks the candidates: the entries always tried, those under the identity, those under each of its prefixes ending at a slash.</summary>
    public ref struct CandidateEnumerator
    {
        private readonly TenantBindingIndex _index;
        private readonly string _identity;
        private ReadOnlySpan<int> _bucket;
        private int _position;
        private int _phase;
        private int _slash;

        internal CandidateEnumerator(TenantBindingIndex index, string identity)
        {
            _index = index;
            _identity = identity;
            _bucket = [];
            _position = -1;
            _slash = -1;
        }

        /// <summary>The current candidate.</summary>
        public readonly TenantBinding Current => _index._bindings[_bucket[_position]];

        /// <summary>This enumerator (for <c>foreach</c>).</summary>
        /// <returns>The enumerator.</returns>
        public readonly CandidateEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next candidate.</summary>
        /// <returns>False when there is none left.</returns>
        public bool MoveNext()
        {
            while (++_position >= _bucket.Length)
            {
                _position = -1;
                switch (_phase)
                {
                    case 0:
                        _phase = 1;
                        _bucket = _index._always;
                        break;
                    case 1:
                        _phase = 2;
                        _bucket = _index._byKey.TryGetValue(_identity, out var exact) ? exact : [];
                        break;
                    default:
                        _slash = _identity.IndexOf('/', _slash + 1);
                        if (_slash < 0)
                        {
                            return false;
                        }

                        _bucket = _index._byKey.TryGetValue(_identity.AsSpan(0, _slash + 1), out var prefixed) ? prefixed : [];
                        break;
                }
            }

            return true;
        }
    }
}
