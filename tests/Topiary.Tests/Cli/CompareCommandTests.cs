using System.Text.Json;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class CompareCommandTests
{
    /// <summary>none and gmp on LeNet-300-100 over small synthetic images, one epoch each, into DIR/cmp.</summary>
    private static (string[] Flags, string Output) SmallComparison(TestDirectory dir, int seeds)
    {
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 600, testCount: 200);
        var output = Path.Combine(dir.Path, "cmp");
        return (["compare", "--methods", "none,gmp", "--seeds", seeds.ToString(System.Globalization.CultureInfo.InvariantCulture), "--model", "lenet300",
            "--data", data, "--dense-epochs", "1", "--epochs", "1", "--eval-every", "2", "--floor", "0.3", "--threads", "1", "--out", output], output);
    }

    [Fact]
    public void A_small_comparison_writes_json_markdown_and_plot_with_every_run()
    {
        using var dir = new TestDirectory();
        var (flags, output) = SmallComparison(dir, seeds: 2);
        var result = CliProcess.Run(flags);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "comparison.json", "comparison.md", "comparison.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var root = json.RootElement;
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.Equal(4, root.GetProperty("runs").GetArrayLength());
        Assert.Equal(2, root.GetProperty("summaries").GetArrayLength());
        Assert.True(root.TryGetProperty("tool_version", out _));
        Assert.Equal(1, root.GetProperty("backend").GetProperty("threads").GetInt32());
        Assert.True(root.GetProperty("backend").TryGetProperty("cpu", out _));
        Assert.True(root.GetProperty("settings").TryGetProperty("method.gmp", out _));
        var gmp = root.GetProperty("summaries")[1];
        Assert.Equal("gmp", gmp.GetProperty("method").GetString());
        Assert.Equal(2, gmp.GetProperty("runs").GetInt32());
        Assert.Contains("| gmp | 2 |", File.ReadAllText(Path.Combine(output, "comparison.md")));
        // gmp against none, paired by seed: the mean of the per-seed differences of the runs above.
        var paired = Assert.Single(root.GetProperty("paired").EnumerateArray());
        Assert.Equal(("gmp", "none", 2), (paired.GetProperty("method").GetString(), paired.GetProperty("baseline").GetString(), paired.GetProperty("pairs").GetInt32()));
        double Test(string method, int seed) => root.GetProperty("runs").EnumerateArray()
            .Single(r => r.GetProperty("method").GetString() == method && r.GetProperty("seed").GetInt32() == seed).GetProperty("test_metric").GetDouble();
        Assert.Equal((Test("gmp", 1234) - Test("none", 1234) + Test("gmp", 1235) - Test("none", 1235)) / 2, paired.GetProperty("mean").GetDouble(), 12);
        Assert.Contains("## Paired by seed", File.ReadAllText(Path.Combine(output, "comparison.md")));
        Assert.Equal("accuracy", root.GetProperty("metric").GetProperty("name").GetString());
        Assert.Equal("higher_is_better", root.GetProperty("metric").GetProperty("direction").GetString());
        foreach (var run in root.GetProperty("runs").EnumerateArray()) AssertTrajectoryEndsAtResult(run);
    }

    [Fact]
    public void A_comparison_cut_short_continues_from_the_runs_it_finished_and_ends_with_the_same_numbers()
    {
        using var dir = new TestDirectory();
        var (flags, output) = SmallComparison(dir, seeds: 1);
        var first = CliProcess.Run(flags);
        Assert.True(first.ExitCode == 0, $"exit {first.ExitCode}: {first.StandardError}\n{first.StandardOutput}");
        var complete = File.ReadAllText(Path.Combine(output, "comparison.json"));
        var runs = Directory.GetFiles(Path.Combine(output, "runs"));
        Assert.Equal(2, runs.Length);
        Assert.Single(Directory.GetFiles(Path.Combine(output, "dense")));

        // As if the comparison had been killed during its second run: that run's file and the results are missing.
        File.Delete(runs.Single(f => Path.GetFileName(f).StartsWith("gmp-", StringComparison.Ordinal)));
        File.Delete(Path.Combine(output, "comparison.json"));
        var resumed = CliProcess.Run("compare", "--resume", output);
        Assert.True(resumed.ExitCode == 0, $"exit {resumed.ExitCode}: {resumed.StandardError}\n{resumed.StandardOutput}");
        Assert.Contains("none        seed 1234: ", resumed.StandardOutput);
        Assert.Contains("kept from an earlier run", resumed.StandardOutput.Split('\n').Single(l => l.Contains("] none ")));
        Assert.DoesNotContain("kept from an earlier run", resumed.StandardOutput.Split('\n').Single(l => l.Contains("] gmp ")));
        // The dense model came from the folder, and the run made again gives the numbers it gave the first time.
        using var before = JsonDocument.Parse(complete);
        using var after = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        Assert.True(after.RootElement.GetProperty("complete").GetBoolean());
        static string Numbers(JsonElement run) => string.Join(" ", new[] { "method", "seed", "dense_test_metric", "val_metric", "test_metric", "remaining_fraction" }
            .Select(k => run.GetProperty(k).ToString())) + " " + run.GetProperty("test_trajectory");
        Assert.Equal(before.RootElement.GetProperty("runs").EnumerateArray().Select(Numbers), after.RootElement.GetProperty("runs").EnumerateArray().Select(Numbers));

        // Everything finished: nothing runs again; a damaged kept run is refused in one line naming its file.
        var again = CliProcess.Run(flags);
        Assert.Equal(2, again.StandardOutput.Split('\n').Count(l => l.Contains("kept from an earlier run")));
        var kept = Directory.GetFiles(Path.Combine(output, "runs"))[0];
        File.WriteAllText(kept, "{ not json");
        var damaged = CliProcess.Run(flags);
        Assert.Equal(2, damaged.ExitCode);
        Assert.Contains(Path.GetFileName(kept), Assert.Single(damaged.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void A_tiny_language_model_comparison_reports_perplexity_with_trajectories_and_a_plot()
    {
        using var dir = new TestDirectory();
        var corpus = dir.File("tiny.txt");
        File.WriteAllText(corpus, Topiary.Tests.Language.TinyLanguageModels.VerseText);
        var output = Path.Combine(dir.Path, "cmp");
        var result = CliProcess.Run("compare", "--model", "transformer-lm", "--corpus", corpus, "--methods", "relevance,none", "--seeds", "1",
            "--context", "16", "--d-model", "16", "--heads", "2", "--layers", "1", "--ffn", "32", "--dense-epochs", "1", "--epochs", "1",
            "--eval-every", "10", "--crop-fraction", "0.2", "--ceiling", "1000", "--threads", "1", "--out", output);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var root = json.RootElement;
        Assert.Equal("perplexity", root.GetProperty("metric").GetProperty("name").GetString());
        Assert.Equal("lower_is_better", root.GetProperty("metric").GetProperty("direction").GetString());
        Assert.Equal("transformer-lm", root.GetProperty("model").GetString());
        Assert.Equal(new[] { "relevance", "none" }, root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("method").GetString()));
        foreach (var run in root.GetProperty("runs").EnumerateArray())
        {
            // Perplexities, not fractions: a character model is never better than 1 (and the tiny one is far from it).
            Assert.True(run.GetProperty("test_metric").GetDouble() > 1.5);
            Assert.Equal(1000, run.GetProperty("bound").GetDouble());
            AssertTrajectoryEndsAtResult(run);
        }
        // Both methods start from the seed's one dense model.
        Assert.Single(root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("dense_test_metric").GetDouble()).Distinct());

        var markdown = File.ReadAllText(Path.Combine(output, "comparison.md"));
        Assert.Contains("| Method | Runs | Test perplexity |", markdown);
        Assert.Contains("lower is better", markdown);
        Assert.DoesNotContain("accuracy", markdown);
        Assert.Contains("Test perplexity", result.StandardOutput);

        var png = File.ReadAllBytes(Path.Combine(output, "comparison.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 10_000, $"a {png.Length}-byte PNG cannot hold axes, curves and a legend");
    }

    [Fact]
    public void An_image_only_method_with_the_language_model_is_one_line_naming_methods()
    {
        var result = CliProcess.Run("compare", "--model", "transformer-lm", "--methods", "relevance,gmp");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--methods: 'gmp' does not apply to transformer-lm", line);
    }

    /// <summary>A one-seed, one-epoch comparison of <paramref name="methods"/> on small synthetic images into DIR/cmp, which it returns.</summary>
    private static string OneSeedComparison(TestDirectory dir, string methods, params string[] more)
    {
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 400, testCount: 100);
        var output = Path.Combine(dir.Path, "cmp");
        var result = CliProcess.Run(["compare", "--methods", methods, .. more, "--seeds", "1", "--model", "lenet300", "--data", data,
            "--dense-epochs", "1", "--epochs", "1", "--eval-every", "2", "--floor", "0.3", "--threads", "1", "--out", output]);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        return output;
    }

    [Fact]
    public void A_method_with_extra_regularizers_runs_as_its_own_row_and_records_them()
    {
        using var dir = new TestDirectory();
        var output = OneSeedComparison(dir, "none,none+so:1e-2+l2:1e-3");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var root = json.RootElement;
        Assert.Equal(new[] { "none", "none+so:1e-2+l2:1e-3" }, root.GetProperty("summaries").EnumerateArray().Select(s => s.GetProperty("method").GetString()));
        Assert.Contains("\"extra\":\"so:1e-2,l2:1e-3\"", root.GetProperty("settings").GetProperty("method.none+so:1e-2+l2:1e-3").GetString());
        Assert.StartsWith("{\"method\":\"none\",", root.GetProperty("settings").GetProperty("method.none").GetString());
        Assert.DoesNotContain("extra", root.GetProperty("settings").GetProperty("method.none").GetString());
        // The same dense start for both rows: only the regularizers differ.
        var runs = root.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(runs[0].GetProperty("dense_test_metric").GetDouble(), runs[1].GetProperty("dense_test_metric").GetDouble());
        Assert.Contains("| none+so:1e-2+l2:1e-3 | 1 |", File.ReadAllText(Path.Combine(output, "comparison.md")));
    }

    [Fact]
    public void Variants_of_one_method_run_side_by_side_with_their_own_settings_over_the_flags()
    {
        using var dir = new TestDirectory();
        const string variant = "relevance[alpha=auto:0.5,decay=decoupled,gamma=0.5]";
        var output = OneSeedComparison(dir, $"relevance,{variant}+so:1e-2,none[criterion=snip]", "--gamma", "2e-3");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var settings = json.RootElement.GetProperty("settings");
        Assert.Equal(new[] { "relevance", variant + "+so:1e-2", "none[criterion=snip]" }, json.RootElement.GetProperty("summaries").EnumerateArray().Select(s => s.GetProperty("method").GetString()));
        // The plain entry has the flags; the variant its brackets over them, and its extra regularizer.
        var plain = JsonDocument.Parse(settings.GetProperty("method.relevance").GetString()!.Split("; ")[0]).RootElement;
        var own = JsonDocument.Parse(settings.GetProperty($"method.{variant}+so:1e-2").GetString()!.Split("; ")[0]).RootElement;
        Assert.Equal(2e-3, plain.GetProperty("gamma").GetDouble());
        Assert.Equal(0.5, own.GetProperty("gamma").GetDouble());
        Assert.Contains("decoupled", own.ToString());
        Assert.DoesNotContain("decoupled", plain.ToString());
        Assert.Contains("so:1e-2", own.GetProperty("extra").GetString());
        Assert.Contains("\"criterion\":\"snip\"", settings.GetProperty("method.none[criterion=snip]").GetString());
        Assert.DoesNotContain("criterion", settings.GetProperty("method.relevance").GetString());
    }

    [Theory]
    [InlineData("relevance[alpha=2", "expected METHOD[flag=value,…]+REG…")]
    [InlineData("relevance[lr=0.1]", "'lr' is not a method setting")]
    [InlineData("l2[alpha=0.5]", "--methods: 'l2[alpha=0.5]': l2 takes no --alpha")]
    [InlineData("relevance[decay=sideways]", "--methods: 'relevance[decay=sideways]': --decay: unknown value 'sideways'")]
    [InlineData("relevance[gamma=lots]", "--gamma: expected a number, got 'lots'")]
    public void A_bad_method_variant_is_one_line_naming_the_entry(string label, string expected)
    {
        var result = CliProcess.Run("compare", "--methods", $"none,{label}");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, Assert.Single(result.StandardError.Trim().Split('\n')));
    }

    [Fact]
    public void All_methods_are_the_default_set_and_every_competing_method()
    {
        var all = new Topiary.Cli.Settings.CompareSettings { Methods = "all" }.MethodLabels;
        Assert.Equal(["relevance", "l2", "l1", "none", "lobster", "gmp", "hypersparse", "nm", "structured", "rigl", "set"], all);
        Assert.Equal(["relevance", "l2", "l1", "none"], new Topiary.Cli.Settings.CompareSettings { Methods = "all", Model = "transformer-lm" }.MethodLabels);
        Assert.Equal(7, new Topiary.Cli.Settings.CompareSettings().MethodLabels.Count);
    }

    /// <summary>Remaining fractions strictly fall along the run's test trajectory, which ends at the run's own result.</summary>
    private static void AssertTrajectoryEndsAtResult(JsonElement run)
    {
        var path = run.GetProperty("test_trajectory").EnumerateArray().ToList();
        Assert.True(path.Count >= 2, $"{run.GetProperty("method").GetString()}: no pruning event recorded");
        var remaining = path.Select(p => p.GetProperty("remaining_fraction").GetDouble()).ToList();
        for (var i = 1; i < remaining.Count; i++) Assert.True(remaining[i] < remaining[i - 1], string.Join(", ", remaining));
        Assert.Equal(run.GetProperty("remaining_fraction").GetDouble(), remaining[^1]);
        Assert.Equal(run.GetProperty("test_metric").GetDouble(), path[^1].GetProperty("test_metric").GetDouble());
    }

    [Theory]
    [InlineData("--methods", "relevance,magic", "--methods: unknown method 'magic'")]
    [InlineData("--seeds", "0", "--seeds: must be at least 1")]
    [InlineData("--method", "l1", "--method: compare takes --methods")]
    [InlineData("--methods", "none,none+bogus:1", "--methods: 'none+bogus:1': unknown regularizer 'bogus'")]
    [InlineData("--methods", "magic+so:1e-4", "--methods: unknown method 'magic'")]
    public void Bad_compare_flags_give_one_line_and_exit_2(string flag, string value, string expected)
    {
        var result = CliProcess.Run("compare", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public void A_malformed_recipe_and_a_selector_that_matches_nothing_give_one_line_and_exit_2()
    {
        using var dir = new TestDirectory();
        var bad = dir.File("bad.json");
        File.WriteAllText(bad, """{ "schedule": { "kind": "polynomial", "target_sparsity": 2 } }""");
        var result = CliProcess.Run("prune", "--recipe", bad);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("bad.json: schedule.target_sparsity: must lie in (0, 1), got 2", result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));

        var nothing = dir.File("nothing.json");
        File.WriteAllText(nothing, """{ "schedule": { "kind": "one-shot", "target_sparsity": 0.5 }, "select": { "name_pattern": "attention.*" } }""");
        result = CliProcess.Run("prune", "--recipe", nothing, "--model", "lenet300");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'attention.*'", result.StandardError);
        Assert.Contains("matches no parameter", result.StandardError);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }
}
