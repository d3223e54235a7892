namespace Broker.Policy.Tests;

/// <summary>
/// A throw-away policy directory for a test class: files written into it are loaded with the real loader; deleted
/// when the test class is disposed. The one policy set-up the loader and evaluator tests share.
/// </summary>
internal sealed class PolicyDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    /// <summary>Writes (or overwrites) <paramref name="files"/> into the directory.</summary>
    public PolicyDirectory Write(params (string File, string Content)[] files)
    {
        foreach (var (file, content) in files)
        {
            File.WriteAllText(System.IO.Path.Combine(Path, file), content);
        }

        return this;
    }

    /// <summary>Loads the directory as the broker would, errors and all.</summary>
    public PolicyLoadResult Load(PolicyLoadOptions? options = null) => PolicyLoader.Load(Path, options ?? PolicyLoadOptions.Default);

    /// <summary>Loads the directory, which must be a valid policy (the loader's errors are the failure message otherwise).</summary>
    public PolicySet LoadValid(PolicyLoadOptions? options = null)
    {
        var result = Load(options);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
