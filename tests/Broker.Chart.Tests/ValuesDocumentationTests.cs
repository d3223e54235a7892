using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Chart.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Broker.Chart.Tests;

/// <summary>
/// values.yaml, its <c>## @param</c> documentation, values.schema.json, the templates and the chart's README agree:
/// every value is documented and used, every value a template reads is documented, the schema knows every value,
/// and the README's table lists every parameter.
/// </summary>
public sealed partial class ValuesDocumentationTests
{
    private static readonly string ValuesYaml = File.ReadAllText(Path.Combine(Repository.Chart, "values.yaml"));

    /// <summary>Parameter → description, from the <c>## @param name description</c> lines.</summary>
    private static readonly Dictionary<string, string> Documented = ParamLine().Matches(ValuesYaml)
        .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["description"].Value.Trim(), StringComparer.Ordinal);

    [Fact]
    public void Params_AreDocumentedOnceEachWithADescription()
    {
        // Assert
        Assert.Equal(ParamLine().Count(ValuesYaml), Documented.Count);
        Assert.All(Documented, p => Assert.True(p.Value.Length >= 10, $"@param {p.Key} has no real description."));
        Assert.True(Documented.Count > 50);
    }

    [Fact]
    public void EveryValue_IsDocumentedByItselfOrAnAncestor()
    {
        // Act
        var undocumented = Leaves().Where(path => !IsDocumentedOrUnder(path)).ToList();

        // Assert
        Assert.Empty(undocumented);
    }

    [Fact]
    public void EveryParam_IsAValueInValuesYaml()
    {
        // Arrange
        var paths = Nodes().ToHashSet(StringComparer.Ordinal);

        // Assert
        Assert.All(Documented.Keys, p => Assert.Contains(p, paths));
    }

    [Fact]
    public void EveryParam_IsReadBySomeTemplate()
    {
        // Arrange
        var used = TemplateReferences();

        // Act
        var unused = Documented.Keys.Where(p => !used.Any(u => u == p || u.StartsWith(p + ".", StringComparison.Ordinal))).ToList();

        // Assert
        Assert.Empty(unused);
    }

    [Fact]
    public void EveryValueATemplateReads_IsDocumented()
    {
        // Act
        var undocumented = TemplateReferences().Where(r => !IsDocumentedOrUnder(r)).ToList();

        // Assert
        Assert.Empty(undocumented);
    }

    [Fact]
    public void Schema_KnowsEveryParamAndNothingElse()
    {
        // Arrange
        var schema = JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Chart, "values.schema.json")))!.AsObject();
        var schemaPaths = SchemaPaths(schema, string.Empty).ToHashSet(StringComparer.Ordinal);
        var valuePaths = Nodes().ToHashSet(StringComparer.Ordinal);

        // Assert
        Assert.All(Documented.Keys, p => Assert.Contains(p, schemaPaths));
        Assert.All(schemaPaths.Where(p => !IsUnderParam(p)), p => Assert.Contains(p, valuePaths));
        Assert.False(schema["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public void Readme_ValuesTable_ListsEveryParamWithItsDescription()
    {
        // Arrange
        var readme = File.ReadAllText(Path.Combine(Repository.Chart, "README.md"));

        // Assert
        Assert.All(Documented, p => Assert.Contains($"| `{p.Key}` | {p.Value} |", readme, StringComparison.Ordinal));
    }

    /// <summary>A path inside a value documented as a whole (probe timings, resources), which values.yaml need not spell out.</summary>
    private static bool IsUnderParam(string path) => Documented.Keys.Any(p => path.StartsWith(p + ".", StringComparison.Ordinal));

    private static bool IsDocumentedOrUnder(string path) =>
        Documented.ContainsKey(path) || Documented.Keys.Any(p => path.StartsWith(p + ".", StringComparison.Ordinal));

    /// <summary>Every <c>.Values.a.b</c> path the templates read (including <c>$.Values</c>).</summary>
    private static HashSet<string> TemplateReferences() =>
        Directory.EnumerateFiles(Path.Combine(Repository.Chart, "templates"), "*", SearchOption.AllDirectories)
            .SelectMany(f => ValuesReference().Matches(File.ReadAllText(f)).Select(m => m.Groups["path"].Value[1..]))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>Paths of values that are not tables (scalars, lists, empty tables): what an operator sets.</summary>
    private static IEnumerable<string> Leaves() => Walk(LoadValues(), string.Empty).Where(n => n.Leaf).Select(n => n.Path);

    private static IEnumerable<string> Nodes() => Walk(LoadValues(), string.Empty).Select(n => n.Path);

    private static YamlMappingNode LoadValues()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ValuesYaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static IEnumerable<(string Path, bool Leaf)> Walk(YamlMappingNode node, string prefix)
    {
        foreach (var (key, value) in node.Children)
        {
            var path = prefix + ((YamlScalarNode)key).Value;
            if (value is YamlMappingNode { Children.Count: > 0 } table)
            {
                yield return (path, false);
                foreach (var child in Walk(table, path + "."))
                {
                    yield return child;
                }
            }
            else
            {
                yield return (path, true);
            }
        }
    }

    /// <summary>The paths the schema declares: nested <c>properties</c> of objects.</summary>
    private static IEnumerable<string> SchemaPaths(JsonObject schema, string prefix)
    {
        foreach (var (name, child) in schema["properties"]?.AsObject() ?? [])
        {
            yield return prefix + name;
            foreach (var nested in SchemaPaths(child!.AsObject(), prefix + name + "."))
            {
                yield return nested;
            }
        }
    }

    [GeneratedRegex(@"^[ ]*## @param (?<name>[A-Za-z0-9_.]+) (?<description>.+)$", RegexOptions.Multiline)]
    private static partial Regex ParamLine();

    [GeneratedRegex(@"\.Values(?<path>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")]
    private static partial Regex ValuesReference();
}
