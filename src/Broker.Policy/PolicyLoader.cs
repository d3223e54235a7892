using Broker.Policy.Loading;

namespace Broker.Policy;

/// <summary>
/// Reads every <c>*.yaml</c>/<c>*.yml</c> file under a directory and compiles them into one
/// <see cref="PolicySet"/>. All-or-nothing: one error anywhere and no policy is produced, so a
/// half-valid directory can never become the policy in force. The schema is in docs/policy.md.
/// </summary>
/// <remarks>
/// Three stages: <see cref="PolicyDirectoryReader"/> lists and reads the files and hashes them into the version,
/// <see cref="TenantReader"/> reads each file's documents into tenant fragments, <see cref="PolicyCompiler"/> merges
/// the fragments and refuses conflicts between them. Each stage reports with file, line and column.
/// </remarks>
public static class PolicyLoader
{
    /// <summary>Loads and compiles the policy directory.</summary>
    /// <param name="directory">The policy directory.</param>
    /// <param name="options">What a policy may declare in the process that will use it.</param>
    /// <returns>The policy, or every error found.</returns>
    public static PolicyLoadResult Load(string directory, PolicyLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<PolicyError>();
        using var files = PolicyDirectoryReader.Open(directory, errors);
        if (files is null)
        {
            return new PolicyLoadResult(null, errors);
        }

        var fragments = new List<TenantFragment>();
        foreach (var file in files.ReadFiles())
        {
            TenantReader.Read(file, options, errors, fragments);
        }

        var version = files.Version();
        var policy = errors.Count == 0 ? PolicyCompiler.Compile(fragments, version, options, errors) : null;
        return errors.Count == 0 ? new PolicyLoadResult(policy, errors) : new PolicyLoadResult(null, errors);
    }
}
