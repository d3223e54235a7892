namespace Broker.Chart.Tests.Infrastructure;

/// <summary>A values file written for one test, deleted on dispose.</summary>
public sealed class TempValues : IDisposable
{
    public TempValues(string yaml)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"broker-chart-values-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(Path, yaml);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
