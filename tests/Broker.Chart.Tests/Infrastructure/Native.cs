using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// The two system calls the tests need that .NET does not wrap as they are: rename(2) over an existing symbolic link
/// (the atomic swap the kubelet and git-sync do; File.Move follows a link to a directory), and chown(2).
/// </summary>
internal static partial class Native
{
    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/>, replacing it atomically.</summary>
    public static void Rename(string from, string to)
    {
        if (RenameNative(from, to) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"rename {from} {to}");
        }
    }

    /// <summary>Changes the owner and group of <paramref name="path"/> (not following a link).</summary>
    public static void ChangeOwner(string path, uint user, uint group)
    {
        if (LchownNative(path, user, group) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"lchown {path}");
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int RenameNative(string from, string to);

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int LchownNative(string path, uint user, uint group);
}
