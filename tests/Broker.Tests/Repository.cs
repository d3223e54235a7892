using System.Reflection;

namespace Broker.Tests;

/// <summary>The repository this test assembly was built from: its docs and sources, which some tests read.</summary>
internal static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
}
