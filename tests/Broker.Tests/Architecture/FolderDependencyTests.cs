using System.Xml.Linq;

namespace Broker.Tests.Architecture;

/// <summary>
/// Who may depend on whom (docs/architecture.md, "Who may depend on whom"): the folders of src/Broker import each other
/// without cycles of two, only the composition (<c>Hosting/</c>, <c>Program.cs</c>) imports <c>Hosting/</c>, and the
/// libraries and <c>brokerctl</c> stay off the service.
/// </summary>
public sealed class FolderDependencyTests
{
    /// <summary>
    /// The one cycle left, through five folders: the key admin endpoints (<c>Keys/KeysAdminEndpoints</c>) sit in
    /// <c>Keys/</c> and use the admin gate and the workload policies, while the signing keys are under everything that
    /// reads or mints our tokens. Any other cycle, or this one grown, fails.
    /// </summary>
    private static readonly string[] KnownCycle = ["Admin", "Authentication", "Keys", "Subjects", "Tokens"];

    private static readonly FolderDependencies Dependencies = FolderDependencies.Read(Path.Combine(Repository.Root, "src", "Broker"));

    [Fact]
    public void Read_FindsTheFoldersAndTheirImports()
    {
        // The reader itself: it must see the folders and the imports everybody knows of, or the tests below prove nothing.
        Assert.Contains("Exchange", Dependencies.Folders);
        Assert.Contains("Hosting", Dependencies.Folders);
        Assert.Contains(FolderDependencies.Root, Dependencies.Folders);
        Assert.True(Dependencies.Folders.Count() >= 25, string.Join(", ", Dependencies.Folders));
        Assert.Contains("Grants", Dependencies.Imports["Exchange"].Keys);
        Assert.Contains("Exchange", Dependencies.Imports["Hosting"].Keys);

        // A qualified name from a sibling namespace (Telemetry.ReadinessWarning inside Broker.Policy).
        Assert.Contains("Telemetry", Dependencies.Imports["Policy"].Keys);

        // Broker.Policy as a using: the library for most files, the folder only where a folder type is named.
        Assert.Contains("Policy", Dependencies.Imports["Grants"].Keys);
        Assert.DoesNotContain("Policy", Dependencies.Imports["Errors"].Keys);
    }

    [Fact]
    public void NoTwoFolders_ImportEachOther()
    {
        var pairs = from a in Dependencies.Folders
                    from b in Dependencies.Imports[a].Keys
                    where string.CompareOrdinal(a, b) < 0 && Dependencies.Imports[b].ContainsKey(a)
                    select $"{a} ({string.Join(", ", Dependencies.Imports[a][b])}) <-> {b} ({string.Join(", ", Dependencies.Imports[b][a])})";

        Assert.Empty(pairs);
    }

    [Fact]
    public void Cycles_AreOnlyTheKnownOne()
    {
        var cycles = Dependencies.Cycles().Select(c => string.Join(" ", c));

        Assert.Equal([string.Join(" ", KnownCycle)], cycles);
    }

    [Fact]
    public void OnlyTheComposition_ImportsHosting()
    {
        var importers = Dependencies.Folders
            .Where(f => f != "Hosting" && f != FolderDependencies.Root && Dependencies.Imports[f].ContainsKey("Hosting"))
            .Select(f => $"{f}: {string.Join(", ", Dependencies.Imports[f]["Hosting"])}");

        Assert.Empty(importers);
    }

    [Fact]
    public void Hosting_ImportsEveryFolder_ThatRegistersOrMaps()
    {
        // The converse: Hosting composes the features, so it is the one folder that may import all of them.
        var modules = Dependencies.Folders.Where(f => f != "Hosting" && f != FolderDependencies.Root
            && File.Exists(Path.Combine(Repository.Root, "src", "Broker", f, $"{f}Module.cs")));

        Assert.All(modules, f => Assert.Contains(f, Dependencies.Imports["Hosting"].Keys));
    }

    [Fact]
    public void Brokerctl_DoesNotReferenceTheService()
    {
        var references = ProjectReferences("src/Broker.Cli/Broker.Cli.csproj");

        Assert.NotEmpty(references);
        Assert.DoesNotContain("src/Broker/Broker.csproj", references);
    }

    [Theory]
    [InlineData("src/Broker.Policy/Broker.Policy.csproj", false)]
    [InlineData("src/Broker.Jose/Broker.Jose.csproj", false)]
    [InlineData("src/Broker.Spiffe/Broker.Spiffe.csproj", false)]
    [InlineData("src/Broker.Client/Broker.Client.csproj", false)]
    [InlineData("src/Broker.Contracts/Broker.Contracts.csproj", false)]
    [InlineData("src/Broker.Validation/Broker.Validation.csproj", true)]
    [InlineData("src/Broker.Validation.Mcp/Broker.Validation.Mcp.csproj", true)]
    public void Library_DoesNotReferenceTheServiceOrItsHosting(string project, bool isAspNetCoreMiddleware)
    {
        // Arrange
        var document = XDocument.Load(Path.Combine(Repository.Root, project));
        var frameworks = document.Descendants("FrameworkReference").Select(e => (string?)e.Attribute("Include")).ToArray();

        // Act
        var references = ProjectReferences(project);

        // Assert: a plain library (not the Web SDK), never on the service, directly or through another project; only
        // the resource-server libraries use ASP.NET Core (as middleware of the resource server, not the broker's host).
        Assert.Equal("Microsoft.NET.Sdk", (string?)document.Root!.Attribute("Sdk"));
        Assert.DoesNotContain("src/Broker/Broker.csproj", references);
        Assert.Equal(isAspNetCoreMiddleware, frameworks.Contains("Microsoft.AspNetCore.App"));
    }

    /// <summary>Every project <paramref name="project"/> references, directly or through others, relative to the root.</summary>
    private static HashSet<string> ProjectReferences(string project)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            var directory = Path.GetDirectoryName(Path.Combine(Repository.Root, current))!;
            foreach (var reference in XDocument.Load(Path.Combine(Repository.Root, current)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(directory, ((string)reference.Attribute("Include")!).Replace('\\', '/')));
                var relative = Path.GetRelativePath(Repository.Root, full).Replace('\\', '/');
                if (found.Add(relative))
                {
                    pending.Push(relative);
                }
            }
        }

        return found;
    }
}
