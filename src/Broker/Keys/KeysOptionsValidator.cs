using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Keys;

/// <summary>
/// Refuses to start without a usable signing key rather than silently generating one: every configured file must
/// exist and hold an EC P-256 private key. A Redis ring needs Redis and a key-encryption certificate, and a schedule
/// whose JWKS caching fits it. Reports every problem, not the first.
/// </summary>
internal sealed class KeysOptionsValidator(IConfiguration configuration) : IValidateOptions<KeysOptions>
{
    public ValidateOptionsResult Validate(string? name, KeysOptions options)
    {
        List<string> failures = [];
        if (options.Store == KeyStore.Redis)
        {
            ValidateRedisRing(options, failures);
        }
        else if (options.SigningKeyFiles.Count == 0 && !options.AllowEphemeralKey)
        {
            failures.Add(
                "Broker:Keys:SigningKeyFiles is empty. Configure at least one EC P-256 PEM key file " +
                "(or set Broker:Keys:AllowEphemeralKey=true for a single throw-away process).");
        }

        foreach (var file in options.SigningKeyFiles)
        {
            if (!File.Exists(file))
            {
                failures.Add($"Broker:Keys:SigningKeyFiles: '{file}' does not exist.");
            }
            else if (LoadProblem(file) is { } problem)
            {
                failures.Add($"Broker:Keys:SigningKeyFiles: '{file}' {problem}.");
            }
        }

        if (options.JwksMaxAge < TimeSpan.Zero || options.JwksMaxAge > TimeSpan.FromDays(1))
        {
            failures.Add("Broker:Keys:JwksMaxAge must be between 0 and 1 day.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void ValidateRedisRing(KeysOptions options, List<string> failures)
    {
        const string Section = KeysOptions.SectionName;
        if (string.IsNullOrWhiteSpace(configuration[$"{Grants.Redis.RedisOptions.SectionName}:{nameof(Grants.Redis.RedisOptions.Configuration)}"]))
        {
            failures.Add($"{Section}:Store=Redis needs Redis: set {Grants.Redis.RedisOptions.SectionName}:Configuration (--dev never uses Redis).");
        }

        var (current, previous, problems) = KeyEncryptionCertificates.Load(options.Encryption);
        failures.AddRange(problems);
        current?.Dispose();
        foreach (var certificate in previous)
        {
            certificate.Dispose();
        }

        var rotation = options.Rotation;
        if (rotation.Interval < TimeSpan.FromSeconds(1) || rotation.Interval > TimeSpan.FromDays(366))
        {
            failures.Add($"{Section}:Rotation:Interval must be between 1 second and 366 days.");
        }

        if (rotation.PrePublication <= TimeSpan.Zero || rotation.PrePublication > rotation.Interval)
        {
            failures.Add($"{Section}:Rotation:PrePublication must be positive and at most Interval.");
        }

        if (rotation.PollInterval < TimeSpan.FromMilliseconds(100) || rotation.PollInterval > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Section}:Rotation:PollInterval must be between 100 ms and 5 minutes.");
        }

        if (rotation.LeaseDuration < TimeSpan.FromSeconds(1) || rotation.LeaseDuration > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{Section}:Rotation:LeaseDuration must be between 1 second and 10 minutes.");
        }

        if (rotation.ClockSkew < TimeSpan.Zero || rotation.ClockSkew > TimeSpan.FromHours(1))
        {
            failures.Add($"{Section}:Rotation:ClockSkew must be between 0 and 1 hour.");
        }

        // A verifier that trusts its cached JWKS for max-age, and a replica that learns of a key only by its poll, must
        // both have a new key before it signs: the pre-publication period has to dwarf both.
        if (options.JwksMaxAge * 4 > rotation.PrePublication)
        {
            failures.Add($"{Section}:JwksMaxAge must be at most a quarter of {Section}:Rotation:PrePublication, so verifiers that cache the JWKS see a new key before it signs.");
        }

        if (rotation.PollInterval * 4 > rotation.PrePublication)
        {
            failures.Add($"{Section}:Rotation:PollInterval must be at most a quarter of PrePublication, so every replica has read a new key before it signs.");
        }
    }

    /// <summary>Why the file cannot be a signing key, in words that never quote the file's content.</summary>
    private static string? LoadProblem(string file)
    {
        try
        {
            var key = SigningKey.FromPemFile(file);
            return key.Key.PrivateKeyStatus == PrivateKeyStatus.DoesNotExist ? "holds no private key" : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "cannot be read";
        }
        catch (InvalidOperationException)
        {
            return "is not an EC P-256 key (the broker signs ES256 only)";
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return "is not a PEM-encoded EC private key (SEC1 or PKCS#8)";
        }
    }
}
