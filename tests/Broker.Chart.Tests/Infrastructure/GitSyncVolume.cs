namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// The emptyDir git-sync (v4) writes into, laid out as it lays it out: each commit checked out as a worktree
/// <c>{root}/.worktrees/{hash}</c>, and the link (<c>GITSYNC_LINK</c>) pointing at the current one by a relative path.
/// A sync checks the new commit out, creates <c>tmp-link</c> beside the link and renames it over the link
/// (publishSymlink in git-sync's main.go), then removes the old worktree.
/// </summary>
public sealed class GitSyncVolume(string volume, string mountPath, string root, string link)
{
    private string? _current;

    /// <summary>Checks out a "commit" with these files and publishes it, as one git-sync sync does.</summary>
    public void Sync(string hash, IReadOnlyDictionary<string, string> files)
    {
        var worktree = Path.Combine(In(root), ".worktrees", hash);
        Directory.CreateDirectory(worktree);
        File.WriteAllText(Path.Combine(worktree, ".git"), $"gitdir: {root}/.git/worktrees/{hash}\n");
        foreach (var (name, content) in files)
        {
            var file = Path.Combine(worktree, name);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
        }

        var linkDirectory = Path.GetDirectoryName(In(link))!;
        Directory.CreateDirectory(linkDirectory);
        var temporary = Path.Combine(linkDirectory, "tmp-link");
        File.CreateSymbolicLink(temporary, Path.GetRelativePath(linkDirectory, worktree));
        Native.Rename(temporary, In(link));

        if (_current is not null)
        {
            Directory.Delete(_current, recursive: true);
        }

        _current = worktree;
    }

    /// <summary>A path of the pod, under the volume's mount path, in the volume's directory here.</summary>
    private string In(string podPath) => Path.Combine(volume, Path.GetRelativePath(mountPath, podPath));
}
