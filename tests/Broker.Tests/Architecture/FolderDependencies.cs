using System.Text.RegularExpressions;

namespace Broker.Tests.Architecture;

/// <summary>
/// Which folder of src/Broker imports which, read from the sources: using directives, fully qualified names
/// (<c>Broker.Grants.IGrantStore</c>) and names qualified from a sibling namespace (<c>Grants.IGrantStore</c> inside
/// <c>namespace Broker.Exchange</c>). Comments and string literals are not read. Files at the root (<c>Program.cs</c>)
/// are the folder <c>(root)</c>.
/// </summary>
/// <remarks>
/// <c>Broker.Policy</c> names two things: the policy library (src/Broker.Policy) and the folder src/Broker/Policy that
/// hosts it. A reference counts for the folder only when it names a type declared in the folder
/// (<c>IPolicyProvider</c>, <c>PolicyOptions</c> …): a using directive when the file mentions one of them, a qualified
/// name when one of its parts is one.
/// </remarks>
internal sealed partial class FolderDependencies
{
    public const string Root = "(root)";

    private FolderDependencies(IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> imports) =>
        Imports = imports;

    /// <summary>Folder → imported folder → the files of the folder that import it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> Imports { get; }

    public IEnumerable<string> Folders => Imports.Keys;

    public static FolderDependencies Read(string brokerDirectory)
    {
        var files = Directory.EnumerateFiles(brokerDirectory, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(brokerDirectory, path).Replace('\\', '/'))
            .Where(path => !path.StartsWith("bin/", StringComparison.Ordinal) && !path.StartsWith("obj/", StringComparison.Ordinal))
            .Select(path => (Path: path, Folder: FolderOf(path), Code: Strip(File.ReadAllText(Path.Combine(brokerDirectory, path)))))
            .ToArray();

        // Every folder's own types; Log is in every folder and only ever means the folder's own.
        var declared = files
            .GroupBy(f => f.Folder)
            .ToDictionary(g => g.Key, g => g.SelectMany(f => Declaration().Matches(f.Code).Select(m => m.Groups[1].Value)).Where(t => t != "Log").ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        var folders = declared.Keys.Where(f => f != Root).ToHashSet(StringComparer.Ordinal);

        var imports = declared.Keys.ToDictionary(f => f, _ => new Dictionary<string, List<string>>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (path, folder, code) in files)
        {
            var body = UsingOrNamespace().Replace(code, "");
            var names = UsingDirective().Matches(code).Select(m => (Name: m.Groups[1].Value, IsUsing: true))
                .Concat(QualifiedName().Matches(body).Select(m => (Name: m.Groups[1].Value, IsUsing: false)))
                .Concat(SiblingQualifiedName().Matches(body).Select(m => (Name: "Broker." + m.Groups[1].Value, IsUsing: false)));
            foreach (var (name, isUsing) in names)
            {
                var parts = name.Split('.');
                var target = parts[1];
                if (target == folder || !folders.Contains(target))
                {
                    continue;
                }

                // A type of the folder must be named: that resolves Broker.Policy, and keeps a property called like a
                // folder (context.Policy.X) from counting as a qualified name.
                var types = declared[target];
                var named = isUsing
                    ? target != "Policy" || types.Any(t => Regex.IsMatch(body, $@"\b{t}\b"))
                    : parts.Skip(2).Any(types.Contains) || (parts.Length > 2 && IsSubNamespace(files, target, parts[2]));
                if (named)
                {
                    var importers = imports[folder].TryGetValue(target, out var list) ? list : imports[folder][target] = [];
                    if (!importers.Contains(path))
                    {
                        importers.Add(path);
                    }
                }
            }
        }

        return new(imports.ToDictionary(
            i => i.Key,
            i => (IReadOnlyDictionary<string, IReadOnlyList<string>>)i.Value.ToDictionary(j => j.Key, j => (IReadOnlyList<string>)j.Value),
            StringComparer.Ordinal));
    }

    /// <summary>The groups of folders that import each other, directly or through others (Tarjan's algorithm).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var cycles = new List<IReadOnlyList<string>>();
        foreach (var folder in Folders.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(folder))
            {
                Visit(folder);
            }
        }

        return cycles;

        void Visit(string folder)
        {
            index[folder] = low[folder] = index.Count;
            stack.Push(folder);
            foreach (var next in Imports[folder].Keys)
            {
                if (!index.TryGetValue(next, out var nextIndex))
                {
                    Visit(next);
                    low[folder] = Math.Min(low[folder], low[next]);
                }
                else if (stack.Contains(next))
                {
                    low[folder] = Math.Min(low[folder], nextIndex);
                }
            }

            if (low[folder] == index[folder])
            {
                var group = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    group.Add(member);
                }
                while (member != folder);
                if (group.Count > 1)
                {
                    cycles.Add([.. group.Order(StringComparer.Ordinal)]);
                }
            }
        }
    }

    private static bool IsSubNamespace(IEnumerable<(string Path, string Folder, string Code)> files, string folder, string part) =>
        files.Any(f => f.Path.StartsWith($"{folder}/{part}/", StringComparison.Ordinal));

    private static string FolderOf(string path) => path.Contains('/', StringComparison.Ordinal) ? path[..path.IndexOf('/', StringComparison.Ordinal)] : Root;

    private static string Strip(string code)
    {
        code = RawString().Replace(code, "\"\"");
        code = VerbatimString().Replace(code, "\"\"");
        code = RegularString().Replace(code, "\"\"");
        code = LineComment().Replace(code, "");
        return BlockComment().Replace(code, "");
    }

    [GeneratedRegex(@"\b(?:class|record|interface|struct|enum)\s+(\w+)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(Broker(?:\.\w+)+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^\s*(?:(?:global\s+)?using\s+[^;(]*|namespace\s+[\w.]+);", RegexOptions.Multiline)]
    private static partial Regex UsingOrNamespace();

    [GeneratedRegex(@"(?<![\w.])(Broker(?:\.\w+)+)")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"(?<![\w.])([A-Z]\w*(?:\.[A-Z]\w*)+)")]
    private static partial Regex SiblingQualifiedName();

    [GeneratedRegex("\"\"\"[\\s\\S]*?\"\"\"")]
    private static partial Regex RawString();

    [GeneratedRegex("@\"(?:[^\"]|\"\")*\"")]
    private static partial Regex VerbatimString();

    [GeneratedRegex("\"(?:\\\\.|[^\"\\\\\\n])*\"")]
    private static partial Regex RegularString();

    [GeneratedRegex("//.*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*[\s\S]*?\*/")]
    private static partial Regex BlockComment();
}
