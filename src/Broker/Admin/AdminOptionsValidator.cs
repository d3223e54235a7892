using Broker.Policy;
using Microsoft.Extensions.Options;

namespace Broker.Admin;

internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        foreach (var pattern in options.GlobalAdmins)
        {
            if (!SubjectPattern.TryCompile(pattern, out _, out var error))
            {
                return ValidateOptionsResult.Fail($"Broker:Admin:GlobalAdmins: {error}");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
