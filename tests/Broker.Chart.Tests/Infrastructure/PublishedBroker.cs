namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// The broker as `dotnet publish` lays it out for the image's /app, published once for the test class from the build
/// this test run already made (no second compilation), then made read-only.
/// </summary>
public sealed class PublishedBroker : IAsyncLifetime
{
    public PublishedBroker()
    {
        Root = Directory.CreateTempSubdirectory("broker-published-").FullName;
        OpenToEveryone(Root);
    }

    /// <summary>A directory every user can traverse (the pod's user included), holding the app and each test's volumes.</summary>
    public string Root { get; }

    public string App => Path.Combine(Root, "app");

    public async ValueTask InitializeAsync()
    {
        var result = await ChartRenderer.RunAsync(
            "dotnet",
            Repository.Root,
            new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
            "publish", Path.Combine(Repository.Root, "src", "Broker", "Broker.csproj"),
            "-c", Repository.Configuration, "--no-build", "--no-restore", "-o", App);
        Assert.True(result.ExitCode == 0, $"dotnet publish failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");

        // What the image's root filesystem is: nothing under /app can be written.
        foreach (var file in Directory.EnumerateFiles(App, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        foreach (var directory in Directory.EnumerateDirectories(App, "*", SearchOption.AllDirectories).Append(App))
        {
            File.SetUnixFileMode(directory, ReadAndTraverse);
        }
    }

    /// <summary>A fresh directory for one test's pod, traversable by the pod's user.</summary>
    public string NewPodDirectory()
    {
        var directory = Path.Combine(Root, $"pod-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        OpenToEveryone(directory);
        return directory;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var directory in Directory.EnumerateDirectories(Root, "*", SearchOption.AllDirectories).Append(Root))
        {
            if (new DirectoryInfo(directory).LinkTarget is null)
            {
                File.SetUnixFileMode(directory, ReadAndTraverse | UnixFileMode.UserWrite);
            }
        }

        Directory.Delete(Root, recursive: true);
        return ValueTask.CompletedTask;
    }

    private const UnixFileMode ReadAndTraverse =
        UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private static void OpenToEveryone(string directory) => File.SetUnixFileMode(directory, ReadAndTraverse | UnixFileMode.UserWrite);
}
