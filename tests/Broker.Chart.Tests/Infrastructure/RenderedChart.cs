using System.Text.Json.Nodes;

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>One rendered document: the template it came from and the object as a Kubernetes client decodes it.</summary>
public sealed record Manifest(string Source, JsonObject Document)
{
    public string Kind => Document["kind"]!.GetValue<string>();

    public string Name => Document["metadata"]!["name"]!.GetValue<string>();

    public JsonObject Labels => Document["metadata"]!["labels"]!.AsObject();

    public JsonObject Spec => Document["spec"]!.AsObject();
}

/// <summary>The manifests of one render of the chart.</summary>
public sealed class RenderedChart(IReadOnlyList<Manifest> manifests, string yaml)
{
    public const string ReleaseName = "broker";

    public const string Namespace = "auth";

    public IReadOnlyList<Manifest> Manifests { get; } = manifests;

    /// <summary>The output as `helm template` prints it.</summary>
    public string Yaml { get; } = yaml;

    public IEnumerable<Manifest> OfKind(string kind) => Manifests.Where(m => m.Kind == kind);

    public Manifest One(string kind) => Assert.Single(OfKind(kind));

    public JsonObject PodSpec => One("Deployment").Spec["template"]!["spec"]!.AsObject();

    public JsonObject BrokerContainer => Container(PodSpec, "broker");

    /// <summary>Every pod the chart runs: the Deployment's template and the helm test pod.</summary>
    public IEnumerable<(string Name, JsonObject Spec)> PodSpecs =>
        OfKind("Deployment").Select(d => (d.Name, d.Spec["template"]!["spec"]!.AsObject()))
            .Concat(OfKind("Pod").Select(p => (p.Name, p.Spec)));

    public static JsonObject Container(JsonObject podSpec, string name) =>
        Assert.Single(Containers(podSpec), c => c["name"]!.GetValue<string>() == name);

    public static IEnumerable<JsonObject> Containers(JsonObject podSpec) =>
        (podSpec["initContainers"]?.AsArray() ?? []).Concat(podSpec["containers"]!.AsArray()).Select(c => c!.AsObject());

    /// <summary>A container's environment: name → the literal value, or null when it comes from a reference.</summary>
    public static IReadOnlyDictionary<string, JsonObject> Env(JsonObject container) =>
        (container["env"]?.AsArray() ?? []).Select(e => e!.AsObject()).ToDictionary(e => e["name"]!.GetValue<string>(), StringComparer.Ordinal);

    public static string? EnvValue(JsonObject container, string name) =>
        Env(container).TryGetValue(name, out var e) ? e["value"]?.GetValue<string>() : null;
}
