using Microsoft.Extensions.Options;

namespace Broker.Audit;

/// <summary>Refuses to start with a sink that cannot be written, rather than losing the shipper's copy silently.</summary>
internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        List<string> failures = [];
        if (options.FlushInterval < TimeSpan.FromMilliseconds(50) || options.FlushInterval > TimeSpan.FromSeconds(10))
        {
            failures.Add("Broker:Audit:FlushInterval must be between 00:00:00.05 and 00:00:10.");
        }

        if (!string.IsNullOrEmpty(options.File) && options.File != AuditFileSink.StandardOutput)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(options.File));
            if (Directory.Exists(options.File))
            {
                failures.Add($"Broker:Audit:File: '{options.File}' is a directory; name a file.");
            }
            else if (directory is null || !Directory.Exists(directory))
            {
                failures.Add($"Broker:Audit:File: the directory of '{options.File}' does not exist.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
