using System.Reflection;

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>Paths in the repository this test assembly was built from.</summary>
public static class Repository
{
    public static string Root { get; } = Metadata("RepositoryRoot");

    /// <summary>The build configuration of this test run (Debug or Release): the broker build that is published.</summary>
    public static string Configuration { get; } = Metadata("Configuration");

    public static string Chart { get; } = Path.Combine(Root, "charts", "broker");

    public static string ValuesFile(string name) => Path.Combine(Root, "tests", "Broker.Chart.Tests", "values", name);

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
