using System.Diagnostics;

namespace Broker.Cli.Tests.Packaging;

/// <summary>
/// brokerctl installs as a .NET tool, as README.md says: the package built from this tree, installed with
/// <c>dotnet tool install</c> into a folder of its own, runs and checks the sample policy offline.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("brokerctl-tool-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task PackedTool_InstallsAndChecksTheSamplePolicy()
    {
        var repository = RepositoryRoot();
        var packages = Path.Combine(_root, "packages");
        var tools = Path.Combine(_root, "tools");
#if DEBUG
        const string Configuration = "Debug";
#else
        const string Configuration = "Release";
#endif

        // The test run has built the CLI already; pack that build rather than compiling it again.
        await RunAsync("dotnet", ["pack", Path.Combine(repository, "src", "Broker.Cli", "Broker.Cli.csproj"), "--no-build", "-c", Configuration, "-o", packages]);
        Assert.Single(Directory.GetFiles(packages, "Broker.Cli.*.nupkg"));

        // A NuGet cache of its own, so an earlier package of the same version cannot stand in for this one.
        await RunAsync("dotnet", ["tool", "install", "Broker.Cli", "--tool-path", tools, "--add-source", packages]);
        var brokerctl = Path.Combine(tools, OperatingSystem.IsWindows() ? "brokerctl.exe" : "brokerctl");

        var help = await RunAsync(brokerctl, ["--help"]);
        Assert.Contains("brokerctl", help, StringComparison.Ordinal);
        var check = await RunAsync(brokerctl, ["policy", "check", Path.Combine(repository, "samples", "dev", "policy"), "--dev"]);
        Assert.Contains("dev", check, StringComparison.Ordinal);
    }

    private async Task<string> RunAsync(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NUGET_PACKAGES"] = Path.Combine(_root, "nuget-cache");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, $"{fileName} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{text}");
        return text;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "Broker.sln")))
        {
            directory = directory.Parent ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
        }

        return directory.FullName;
    }
}
