using System.Text.Json.Nodes;
using Broker.Chart.Tests.Infrastructure;

namespace Broker.Chart.Tests;

/// <summary>
/// tests/charts/render behaves as Helm 3 does where charts/broker relies on it, shown on a chart made for the purpose
/// (tests/charts/testdata/semantics): values merged and coalesced, missing values empty, include and tpl, the
/// built-in objects, toYaml's form, required's message, documents split and decoded as YAML 1.1, partials and
/// NOTES.txt apart, and sprig's env removed.
/// </summary>
public sealed class RendererSemanticsTests(ChartRenderer renderer)
{
    private static readonly string Semantics = Path.Combine(Repository.Root, "tests", "charts", "testdata", "semantics");

    [Fact]
    public async Task Render_ValuesAndBuiltIns_FollowHelm()
    {
        // Arrange: a later -f file wins; a null in the user's values removes the chart's default.
        using var first = new TempValues("nested:\n  drop: null\n  added: yes\nreplicas: 3\n");
        using var second = new TempValues("replicas: 4\n");

        // Act
        var result = await renderer.RunOnAsync(Semantics, [first.Path, second.Path], "-name", "rel", "-namespace", "ns", "-json");

        // Assert
        Assert.True(result.ExitCode == 0, result.StandardError);
        var documents = JsonNode.Parse(result.StandardOutput)!.AsArray();
        Assert.Equal(2, documents.Count);
        Assert.All(documents, d => Assert.Equal("semantics/templates/configmap.yaml", d!["source"]!.GetValue<string>()));
        var data = documents[0]!["object"]!["data"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>());
        Assert.Equal("4", data["replicas"]);
        Assert.Equal("float64", data["typeOfNumber"]);
        Assert.Equal(string.Empty, data["missing"]);
        Assert.Equal(string.Empty, data["missingNested"]);
        Assert.Equal("kept", data["kept"]);
        Assert.Equal("false", data["dropped"]);
        Assert.Equal("true", data["added"]);
        Assert.Equal("rel/kept/rel-semantics", data["tpl"]);
        Assert.Equal("semantics/templates/configmap.yaml", data["template"]);
        Assert.Equal("semantics/templates", data["basePath"]);
        Assert.Equal("semantics 1.2.3 4.5", data["chart"]);
        Assert.Equal("v1.31.0 1.31", data["kube"]);
        Assert.Equal("true false", data["apis"]);
        Assert.Equal("ns true false 1 Helm", data["release"]);
        Assert.Equal("0", data["lookup"]);
        Assert.Equal("added: true\nkeep: kept\n", data["yaml"]);
        Assert.Equal("[\"b\",\"a\"]", data["json"]);
        Assert.Equal("rel-semantics", documents[0]!["object"]!["metadata"]!["labels"]!["app"]!.GetValue<string>());

        // YAML 1.1 scalars, as Kubernetes clients decode them.
        Assert.Equal(288, documents[1]!["object"]!["mode"]!.GetValue<int>());
        Assert.True(documents[1]!["object"]!["flag"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Render_Output_IsHelmTemplatesWithoutPartialsNotesOrEmptyFiles()
    {
        // Act
        var result = await renderer.RunOnAsync(Semantics, [], "-name", "rel");

        // Assert
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("---\n# Source: semantics/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\n", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, result.StandardOutput.Split("\n---\n").Length);
        Assert.DoesNotContain("_helpers.tpl", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("empty.yaml", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Notes of", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("<no value>", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_Notes_AreRenderedApartWithMissingValuesEmpty()
    {
        // Act
        var result = await renderer.RunOnAsync(Semantics, [], "-name", "rel", "-notes");

        // Assert
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Notes of rel: done\n", result.StandardOutput);
    }

    [Fact]
    public async Task Render_Required_FailsWithHelmsMessageAndPlace()
    {
        // Arrange
        using var values = new TempValues("requireIt: true\n");

        // Act
        var result = await renderer.RunOnAsync(Semantics, [values.Path]);

        // Assert
        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.StandardOutput);
        Assert.Equal("Error: execution error at (semantics/templates/configmap.yaml:27:15): needIt is required when requireIt is on\n", result.StandardError);
    }

    [Fact]
    public async Task Render_SprigEnv_IsNotAvailableAsInHelm()
    {
        // Act
        var result = await renderer.RunOnAsync(Path.Combine(Repository.Root, "tests", "charts", "testdata", "env-removed"), []);

        // Assert
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("function \"env\" not defined", result.StandardError, StringComparison.Ordinal);
    }
}
