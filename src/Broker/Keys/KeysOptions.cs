namespace Broker.Keys;

/// <summary>
/// Signing keys, bound from <c>Broker:Keys</c>. Defaults: <see cref="Store"/> <see cref="KeyStore.Files"/>, no
/// <see cref="SigningKeyFiles"/>, <see cref="AllowEphemeralKey"/> false, <see cref="JwksMaxAge"/> 5 minutes.
/// </summary>
internal sealed class KeysOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Keys";

    /// <summary>
    /// Where the key ring lives (default <see cref="KeyStore.Files"/>). <see cref="KeyStore.Redis"/> shares one
    /// rotating ring between every replica through <c>Broker:Redis</c>, with its private keys encrypted by
    /// <see cref="Encryption"/>.
    /// </summary>
    public KeyStore Store { get; set; } = KeyStore.Files;

    /// <summary>
    /// PEM files holding EC P-256 private keys. With <see cref="KeyStore.Files"/> the first signs and the rest are
    /// published in the JWKS so tokens they signed still verify. With <see cref="KeyStore.Redis"/> they are imported
    /// into an empty ring the same way (the first active, the rest retired), and ignored once the ring has keys.
    /// Empty by default.
    /// </summary>
    public IList<string> SigningKeyFiles { get; } = [];

    /// <summary>
    /// Generate a key at start when no file is configured (<see cref="KeyStore.Files"/> only). Off by default:
    /// replicas would each publish a different key and a restart would invalidate every token. <c>--dev</c> turns it on.
    /// </summary>
    public bool AllowEphemeralKey { get; set; }

    /// <summary>
    /// <c>Cache-Control: max-age</c> of the JWKS response. Default 5 minutes. With <see cref="KeyStore.Redis"/> it
    /// must be well below <see cref="KeyRotationOptions.PrePublication"/> (at most a quarter): a verifier that trusts
    /// its cache for this long must still see a new key before it signs.
    /// </summary>
    public TimeSpan JwksMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The rotation schedule of a <see cref="KeyStore.Redis"/> ring.</summary>
    public KeyRotationOptions Rotation { get; } = new();

    /// <summary>The key-encryption certificate that protects a <see cref="KeyStore.Redis"/> ring.</summary>
    public KeyEncryptionOptions Encryption { get; } = new();
}

/// <summary>Where signing keys come from.</summary>
internal enum KeyStore
{
    /// <summary>PEM files read at start (or one ephemeral key): no rotation, every replica configured alike.</summary>
    Files = 0,

    /// <summary>One ring in Redis shared by every replica, rotated on a schedule, private keys encrypted.</summary>
    Redis = 1,
}

/// <summary>
/// The rotation schedule, bound from <c>Broker:Keys:Rotation</c>. Defaults: <see cref="Interval"/> 7 days,
/// <see cref="PrePublication"/> 1 day, <see cref="PollInterval"/> 10 seconds, <see cref="LeaseDuration"/> 30 seconds,
/// <see cref="Automatic"/> true, <see cref="ClockSkew"/> 5 minutes.
/// </summary>
internal sealed class KeyRotationOptions
{
    /// <summary>How long each key signs before the next one takes over (default 7 days).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// How long a new key is published as "next" before it signs (default 1 day): verifiers that cache the JWKS pick
    /// it up before the first token it signs reaches them. At most <see cref="Interval"/>.
    /// </summary>
    public TimeSpan PrePublication { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How often each replica reads the ring from Redis even without a notification (default 10 seconds): the
    /// fallback when a pub/sub message is lost. Also how often the rotation schedule is checked.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the rotation lease is held at most (default 30 seconds): a replica that dies while rotating blocks
    /// rotation for no longer than this.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rotate on the schedule (default true). Off: keys change only by <c>brokerctl keys rotate</c>.</summary>
    public bool Automatic { get; set; } = true;

    /// <summary>
    /// The clock skew verifiers allow past a token's <c>exp</c> (default 5 minutes, JwtBearer's default): a retired key
    /// stays published for the longest token lifetime plus this.
    /// </summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// The key-encryption certificate of a Redis key ring, bound from <c>Broker:Keys:Encryption</c>. The signing keys are
/// encrypted with ASP.NET Core Data Protection, whose own keys (in Redis too) are encrypted to this certificate
/// (XML Encryption, RSA): whoever reads Redis without it gets no private key. No default: required with
/// <see cref="KeyStore.Redis"/>.
/// </summary>
internal sealed class KeyEncryptionOptions
{
    /// <summary>The certificate: a PEM certificate (with <see cref="CertificateKeyPath"/>) or a PKCS#12 (.pfx) file. RSA, with its private key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/>, when it is not in the same file.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>The password of a PKCS#12 file or an encrypted PEM key. A secret: never logged.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Earlier certificates (PKCS#12 or PEM with the key in the same file), kept to decrypt what they encrypted after
    /// <see cref="CertificatePath"/> was replaced. New keys are encrypted to <see cref="CertificatePath"/> only.
    /// </summary>
    public IList<string> PreviousCertificatePaths { get; } = [];
}
