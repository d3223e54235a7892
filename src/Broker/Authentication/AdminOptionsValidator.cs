using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Authentication;

/// <summary>Fails the start on a global admin that does not name its identity source.</summary>
internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var text in options.GlobalAdmins)
        {
            if (TryCompile(text, out _, out var error) is false)
            {
                return ValidateOptionsResult.Fail($"Broker:Admin:GlobalAdmins: {error}");
            }
        }

        return ValidateOptionsResult.Success;
    }

    /// <summary>The compiled list; every entry was validated at start.</summary>
    public static IReadOnlyList<SubjectPattern> CompileGlobalAdmins(IEnumerable<string> texts) =>
        [.. texts.Select(t => TryCompile(t, out var pattern, out _) ? pattern! : throw new InvalidOperationException("Broker:Admin:GlobalAdmins is validated at start."))];

    private static bool TryCompile(string text, out SubjectPattern? pattern, out string? error)
    {
        if (!SubjectPattern.TryCompile(text, out pattern, out error))
        {
            return false;
        }

        // A bare name ("root", "system:serviceaccount:ops:admin") could be minted by any OIDC issuer that some
        // tenant trusts: a global admin must say whose it is.
        if (pattern!.Issuer is null && !pattern.IsSpiffe)
        {
            error = $"'{text}' does not name its identity source; write spiffe://<trust domain>/<path> for a SPIFFE identity or oidc:<issuer URL>#<subject> for an OIDC one";
            pattern = null;
            return false;
        }

        return true;
    }
}
