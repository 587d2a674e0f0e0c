using System.Reflection;
using Topiary.Tests.Support;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// The public API of every Topiary library the tests reference (every <c>Topiary*.dll</c> beside the tests but the CLI
/// and the tests themselves) matches its recorded baseline, <c>api/&lt;Assembly&gt;.txt</c> at the repository root, so
/// that a change to it is deliberate: it shows in the baseline's diff in the same commit.
/// </summary>
public class PublicApiTests
{
    /// <summary>Assemblies named Topiary* that are not libraries users reference.</summary>
    private static readonly string[] NotLibraries = ["Topiary.Cli", "Topiary.Tests"];

    private const int MaxDiffLines = 40;

    private const string HowToAccept = "If the change is deliberate, accept it with `TOPIARY_UPDATE_API=1 ./topiary.sh test --filter PublicApi` "
        + "or `scripts/update-api-baseline.sh`, and commit api/ with the change.";

    /// <summary>The library assemblies, by name, from the test binaries' folder.</summary>
    public static IReadOnlyList<string> Libraries() =>
        Directory.GetFiles(AppContext.BaseDirectory, "Topiary*.dll").Select(f => Path.GetFileNameWithoutExtension(f)!)
            .Where(n => !NotLibraries.Contains(n)).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void The_public_api_of_every_library_matches_its_recorded_baseline()
    {
        var update = Environment.GetEnvironmentVariable("TOPIARY_UPDATE_API") == "1";
        var folder = Repository.Path("api");
        var libraries = Libraries();
        Assert.Contains("Topiary", libraries);
        var problems = new List<string>();
        foreach (var library in libraries)
        {
            var actual = PublicApi.Describe(Assembly.Load(library));
            var file = Path.Combine(folder, library + ".txt");
            var expected = File.Exists(file) ? File.ReadAllText(file).ReplaceLineEndings("\n") : null;
            if (expected == actual) continue;
            if (update)
            {
                Directory.CreateDirectory(folder);
                File.WriteAllText(file, actual);
            }
            else problems.Add(expected is null ? $"api/{library}.txt is missing: the public API of {library} has no baseline." : Diff(library, expected, actual));
        }
        var recorded = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.txt") : [];
        foreach (var stale in recorded.Where(f => !libraries.Contains(Path.GetFileNameWithoutExtension(f))))
        {
            if (update) File.Delete(stale);
            else problems.Add($"api/{Path.GetFileName(stale)} is the baseline of an assembly the tests no longer reference.");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + HowToAccept);
    }

    [Fact]
    public void The_api_text_names_members_with_their_signatures_nullability_and_defaults()
    {
        var api = PublicApi.Describe(typeof(Topiary.Serialization.ModelFile).Assembly).Split('\n');
        Assert.Contains("Topiary.Serialization.ModelFile : static class", api);
        Assert.Contains("Topiary.Serialization.ModelFile :: static void Save(string path, string architecture, torch.nn.Module model, "
            + "PruningMasks? masks = null, JsonObject? metadata = null, JsonObject? config = null)", api);
        Assert.Contains("Topiary.Training.CheckpointOptions :: const string LastFileName = \"last.ckpt\"", api);
        Assert.Contains("Topiary.Training.PruningLoopState :: required long Step { get; init; }", api);
        Assert.Equal(api.Where(l => l.Length > 0).Order(StringComparer.Ordinal), api.Where(l => l.Length > 0));
        Assert.DoesNotContain(api, l => l.Contains("<Clone>$") || l.Contains("Topiary.Serialization.TensorContainer"));
    }

    // The lines only one side has (the text is sorted, so a set difference is the diff), at most MaxDiffLines of them.
    private static string Diff(string library, string expected, string actual)
    {
        var before = expected.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var after = actual.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var removed = before.Except(after).Select(l => "- " + l);
        var added = after.Except(before).Select(l => "+ " + l);
        var lines = removed.Concat(added).ToList();
        var shown = string.Join("\n", lines.Take(MaxDiffLines));
        var more = lines.Count > MaxDiffLines ? $"\n… and {lines.Count - MaxDiffLines} more lines" : "";
        return $"The public API of {library} differs from api/{library}.txt ({lines.Count(l => l[0] == '-')} lines removed, {lines.Count(l => l[0] == '+')} added):\n{shown}{more}";
    }
}
