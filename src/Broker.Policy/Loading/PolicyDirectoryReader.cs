using System.Security.Cryptography;
using System.Text;

namespace Broker.Policy.Loading;

/// <summary>
/// The first stage of loading: which files make up the policy, their text, and the version over all of them.
/// Every <c>*.yaml</c>/<c>*.yml</c> file below the directory, recursively, in ordinal order, skipping names that
/// start with <c>.</c> (editors' swap files, Kubernetes ConfigMap <c>..data</c> links); bounded in number and size.
/// </summary>
internal sealed class PolicyDirectoryReader : IDisposable
{
    private const int MaxFiles = 1000;
    private const int MaxFileBytes = 1024 * 1024;

    private readonly string _root;
    private readonly IReadOnlyList<string> _files;
    private readonly List<PolicyError> _errors;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    private PolicyDirectoryReader(string root, IReadOnlyList<string> files, List<PolicyError> errors)
    {
        _root = root;
        _files = files;
        _errors = errors;
    }

    /// <summary>Lists the policy files of <paramref name="directory"/>; null, with the reason in <paramref name="errors"/>, when there is nothing to read.</summary>
    public static PolicyDirectoryReader? Open(string directory, List<PolicyError> errors)
    {
        if (!Directory.Exists(directory))
        {
            errors.Add(new PolicyError(directory, 0, 0, "the policy directory does not exist"));
            return null;
        }

        var root = Path.GetFullPath(directory);
        var files = Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            errors.Add(new PolicyError(directory, 0, 0, "the policy directory has no .yaml or .yml files"));
            return null;
        }

        if (files.Count > MaxFiles)
        {
            errors.Add(new PolicyError(directory, 0, 0, $"the policy directory has more than {MaxFiles} files"));
            return null;
        }

        return new PolicyDirectoryReader(root, files, errors);
    }

    /// <summary>
    /// The files in order, each read once and added to the version as it is read. A file that cannot be read, or is
    /// too large, is reported and skipped (the load then fails, so it is never half-missing from a policy).
    /// </summary>
    public IEnumerable<PolicyFile> ReadFiles()
    {
        foreach (var path in _files)
        {
            var relative = Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/');
            byte[] content;
            try
            {
                content = File.ReadAllBytes(path);
            }
            catch (IOException ex)
            {
                _errors.Add(new PolicyError(relative, 0, 0, $"cannot read the file: {ex.Message}"));
                continue;
            }

            if (content.Length > MaxFileBytes)
            {
                _errors.Add(new PolicyError(relative, 0, 0, $"the file is larger than {MaxFileBytes} bytes"));
                continue;
            }

            // The version covers names and contents: renaming a file is a policy change too.
            _hash.AppendData(Encoding.UTF8.GetBytes(relative));
            _hash.AppendData([0]);
            _hash.AppendData(content);
            _hash.AppendData([0]);

            yield return new PolicyFile(relative, Path.GetDirectoryName(path)!, Encoding.UTF8.GetString(content));
        }
    }

    /// <summary>The policy version once <see cref="ReadFiles"/> has run: <c>sha256:</c> and 24 hex digits.</summary>
    public string Version() => "sha256:" + Convert.ToHexStringLower(_hash.GetHashAndReset().AsSpan(0, 12));

    public void Dispose() => _hash.Dispose();
}

/// <summary>One policy file's text.</summary>
/// <param name="RelativePath">The path relative to the policy directory, with <c>/</c> separators: what errors name.</param>
/// <param name="Directory">The file's own directory, which <c>bundle_file</c> paths are relative to.</param>
/// <param name="Text">The content, as UTF-8.</param>
internal sealed record PolicyFile(string RelativePath, string Directory, string Text);
