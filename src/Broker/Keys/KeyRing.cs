using System.Collections.Frozen;

namespace Broker.Keys;

/// <summary>
/// A fixed key ring: the first key is active, the others are published so tokens they signed keep
/// verifying. Automatic, replica-coordinated rotation replaces this type later without changing
/// <see cref="ISigningKeyProvider"/>.
/// </summary>
internal sealed class KeyRing : ISigningKeyProvider
{
    private readonly FrozenDictionary<string, SigningKey> _byId;

    public KeyRing(IReadOnlyList<SigningKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            throw new ArgumentException("A key ring needs at least one key.", nameof(keys));
        }

        Active = keys[0];
        Published = keys;
        _byId = keys.DistinctBy(k => k.KeyId, StringComparer.Ordinal).ToFrozenDictionary(k => k.KeyId, StringComparer.Ordinal);
    }

    public SigningKey Active { get; }

    public IReadOnlyList<SigningKey> Published { get; }

    public SigningKey? Find(string keyId) => _byId.GetValueOrDefault(keyId);
}
