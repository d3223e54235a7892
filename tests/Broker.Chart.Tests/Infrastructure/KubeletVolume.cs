namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// A ConfigMap or Secret volume laid out as the kubelet lays it out (pkg/volume/util/atomic_writer.go): the files in a
/// timestamped directory <c>..2025_01_01_00_00_00.N</c>, a link <c>..data</c> to it, and for each file a link
/// <c>name → ..data/name</c>. An update writes a new timestamped directory, links new names, swaps <c>..data</c> by
/// renaming a fresh link <c>..data_tmp</c> over it, removes links of names no longer there and the old directory:
/// readers see the old files or the new ones, never a mix.
/// </summary>
public sealed class KubeletVolume
{
    private const string DataLink = "..data";
    private readonly UnixFileMode _fileMode;
    private readonly (uint User, uint Group)? _owner;
    private int _generation;

    /// <param name="directory">The volume's directory (its mount path in the pod).</param>
    /// <param name="fileMode">The volume's defaultMode.</param>
    /// <param name="owner">The owner of the files when the test runs as root: root and the pod's fsGroup.</param>
    public KubeletVolume(string directory, UnixFileMode fileMode, (uint User, uint Group)? owner)
    {
        Directory = directory;
        _fileMode = fileMode;
        _owner = owner;
        System.IO.Directory.CreateDirectory(directory);
        SetDirectoryMode(directory);
    }

    public string Directory { get; }

    /// <summary>Writes the volume's content: the first write, or an update as the kubelet applies it.</summary>
    public void Write(IReadOnlyDictionary<string, string> files)
    {
        var oldData = new FileInfo(Path.Combine(Directory, DataLink)).LinkTarget;

        // The new payload, complete, in a directory readers cannot see yet.
        var timestamped = $"..2025_01_01_00_00_00.{++_generation}";
        var target = Path.Combine(Directory, timestamped);
        System.IO.Directory.CreateDirectory(target);
        SetDirectoryMode(target);
        foreach (var (name, content) in files)
        {
            var file = Path.Combine(target, name);
            File.WriteAllText(file, content);
            File.SetUnixFileMode(file, _fileMode);
            Own(file);
        }

        // Names that are new get their link now; it dangles until ..data points at a directory holding them.
        foreach (var name in files.Keys.Where(n => new FileInfo(Path.Combine(Directory, n)).LinkTarget is null))
        {
            File.CreateSymbolicLink(Path.Combine(Directory, name), Path.Combine(DataLink, name));
        }

        // The swap: one rename(2).
        var temporary = Path.Combine(Directory, DataLink + "_tmp");
        File.CreateSymbolicLink(temporary, timestamped);
        Native.Rename(temporary, Path.Combine(Directory, DataLink));

        foreach (var stale in System.IO.Directory.EnumerateFileSystemEntries(Directory).Select(Path.GetFileName).Where(n => !n!.StartsWith("..", StringComparison.Ordinal) && !files.ContainsKey(n!)))
        {
            File.Delete(Path.Combine(Directory, stale!));
        }

        if (oldData is not null)
        {
            System.IO.Directory.Delete(Path.Combine(Directory, oldData), recursive: true);
        }
    }

    private void Own(string path)
    {
        if (_owner is { } owner)
        {
            Native.ChangeOwner(path, owner.User, owner.Group);
        }
    }

    private static void SetDirectoryMode(string directory) =>
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
}
