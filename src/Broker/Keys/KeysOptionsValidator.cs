using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Keys;

/// <summary>
/// Refuses to start without a usable signing key rather than silently generating one: every configured file must
/// exist and hold an EC P-256 private key. Reports every problem, not the first.
/// </summary>
internal sealed class KeysOptionsValidator : IValidateOptions<KeysOptions>
{
    public ValidateOptionsResult Validate(string? name, KeysOptions options)
    {
        List<string> failures = [];
        if (options.SigningKeyFiles.Count == 0 && !options.AllowEphemeralKey)
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
