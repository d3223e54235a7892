namespace Broker.Keys;

/// <summary>The key ring: one active key signs, every published key verifies.</summary>
internal interface ISigningKeyProvider
{
    /// <summary>The key new tokens are signed with.</summary>
    SigningKey Active { get; }

    /// <summary>Every key whose public half is in the JWKS, the active one included.</summary>
    IReadOnlyList<SigningKey> Published { get; }

    /// <summary>Finds a published key by <c>kid</c>.</summary>
    SigningKey? Find(string keyId);
}
