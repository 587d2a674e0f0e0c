using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Topiary.Tests.Layout;

/// <summary>
/// The layout holds (docs/architecture.md): the three library assemblies depend on each other one way only
/// (Topiary ← Topiary.Inference ← Topiary.Experiments ← Topiary.Cli), a namespace lives in one assembly, and the
/// components (namespaces Topiary.X, with their nested namespaces folded in) form no cycle. Read from the sources:
/// <c>using</c> directives and fully qualified names.
/// </summary>
public sealed partial class NamespaceGraphTests
{
    /// <summary>Each assembly's folder and the assemblies it may reference.</summary>
    private static readonly (string Assembly, string[] MayUse)[] Layers =
    [
        ("Topiary", []),
        ("Topiary.Inference", ["Topiary"]),
        ("Topiary.Experiments", ["Topiary", "Topiary.Inference"]),
        ("Topiary.Cli", ["Topiary", "Topiary.Inference", "Topiary.Experiments"]),
    ];

    [Fact]
    public void Project_references_run_one_way()
    {
        foreach (var (assembly, mayUse) in Layers)
        {
            var project = XDocument.Load(Path.Combine(Source, assembly, $"{assembly}.csproj"));
            var references = project.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value)).ToList();
            Assert.All(references, r => Assert.True(mayUse.Contains(r), $"{assembly} references {r}, which it may not"));
        }
    }

    [Fact]
    public void A_namespace_lives_in_one_assembly()
    {
        var owners = new Dictionary<string, string>();
        foreach (var (assembly, _) in Layers)
            foreach (var ns in Files(assembly).Select(f => f.Namespace).Distinct())
            {
                Assert.False(owners.TryGetValue(ns, out var other) && other != assembly, $"namespace {ns} is in both {other} and {assembly}");
                owners[ns] = assembly;
            }
    }

    [Fact]
    public void No_assembly_uses_a_namespace_of_an_assembly_above_it()
    {
        var owner = Layers.SelectMany(l => Files(l.Assembly).Select(f => (f.Namespace, l.Assembly))).DistinctBy(x => x.Namespace)
            .ToDictionary(x => x.Namespace, x => x.Assembly);
        foreach (var (assembly, mayUse) in Layers)
            foreach (var file in Files(assembly))
                foreach (var used in file.Uses.Select(u => OwnerOf(u, owner)).OfType<string>())
                    Assert.True(used == assembly || mayUse.Contains(used), $"{file.Path} ({assembly}) uses {used}");
    }

    [Fact]
    public void Components_form_no_cycle()
    {
        var files = Layers.SelectMany(l => Files(l.Assembly)).ToList();
        var components = files.Select(f => Component(f.Namespace)).ToHashSet();
        var edges = components.ToDictionary(c => c, _ => new HashSet<string>());
        foreach (var file in files)
            foreach (var used in file.Uses.Select(Component).Where(components.Contains))
                if (used != Component(file.Namespace)) edges[Component(file.Namespace)].Add(used);
        var cycle = FindCycle(edges);
        Assert.True(cycle is null, $"namespace cycle: {string.Join(" → ", cycle ?? [])}");
    }

    [Fact]
    public void The_cycle_check_finds_a_cycle()
    {
        var edges = new Dictionary<string, HashSet<string>> { ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"], ["D"] = ["A"] };
        Assert.Equal(["A", "B", "C", "A"], FindCycle(edges));
        edges["C"].Clear();
        Assert.Null(FindCycle(edges));
    }

    /// <summary>Topiary.Pruning.Toolkit → Topiary.Pruning: nested namespaces are parts of one component.</summary>
    private static string Component(string ns) => string.Join('.', ns.Split('.').Take(2));

    private static string? OwnerOf(string used, Dictionary<string, string> owner) =>
        owner.Keys.Where(ns => used == ns || used.StartsWith(ns + ".", StringComparison.Ordinal)).OrderByDescending(ns => ns.Length)
            .Select(ns => owner[ns]).FirstOrDefault();

    private static List<string>? FindCycle(Dictionary<string, HashSet<string>> edges)
    {
        var state = new Dictionary<string, int>();
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in edges.GetValueOrDefault(node, []).Order(StringComparer.Ordinal))
            {
                if (state.GetValueOrDefault(next) == 1) return [.. path.SkipWhile(n => n != next), next];
                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found) return found;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        foreach (var node in edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle) return cycle;
        return null;
    }

    private sealed record SourceFile(string Path, string Namespace, IReadOnlyList<string> Uses);

    private static IEnumerable<SourceFile> Files(string assembly)
    {
        var folder = Path.Combine(Source, assembly);
        foreach (var path in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(folder, path);
            if (relative.StartsWith("obj", StringComparison.Ordinal) || relative.StartsWith("bin", StringComparison.Ordinal)) continue;
            var text = LineComment().Replace(File.ReadAllText(path), "");
            var ns = NamespaceLine().Match(text);
            if (!ns.Success) continue;
            var uses = UsingLine().Matches(text).Select(m => m.Groups[1].Value)
                .Concat(QualifiedName().Matches(text).Select(m => m.Groups[1].Value)).Distinct().ToList();
            yield return new SourceFile(Path.GetRelativePath(Source, path), ns.Groups[1].Value, uses);
        }
    }

    private static string Source { get; } = FindSource();

    private static string FindSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Topiary.slnx"))) return Path.Combine(dir.FullName, "src");
        throw new InvalidOperationException("the repository root (Topiary.slnx) is not above the test binaries");
    }

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^using\s+(?:static\s+)?(Topiary[\w.]*)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"\b(Topiary(?:\.[A-Z]\w*)+)\.[A-Z]\w*")]
    private static partial Regex QualifiedName();
}
