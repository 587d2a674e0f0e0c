using System.Text.Json;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class CompareCommandTests
{
    [Fact]
    public void A_small_comparison_writes_json_markdown_and_plot_with_every_run()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 600, testCount: 200);
        var output = Path.Combine(dir.Path, "cmp");
        var result = CliProcess.Run("compare", "--methods", "none,gmp", "--seeds", "2", "--model", "lenet300", "--data", data,
            "--dense-epochs", "1", "--epochs", "1", "--eval-every", "2", "--floor", "0.3", "--threads", "1", "--out", output);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "comparison.json", "comparison.md", "comparison.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var root = json.RootElement;
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.Equal(4, root.GetProperty("runs").GetArrayLength());
        Assert.Equal(2, root.GetProperty("summaries").GetArrayLength());
        Assert.True(root.TryGetProperty("tool_version", out _));
        Assert.True(root.GetProperty("settings").TryGetProperty("method.gmp", out _));
        var gmp = root.GetProperty("summaries")[1];
        Assert.Equal("gmp", gmp.GetProperty("method").GetString());
        Assert.Equal(2, gmp.GetProperty("runs").GetInt32());
        Assert.Contains("| gmp | 2 |", File.ReadAllText(Path.Combine(output, "comparison.md")));
    }

    [Theory]
    [InlineData("--methods", "relevance,magic", "--methods: unknown method 'magic'")]
    [InlineData("--seeds", "0", "--seeds: must be at least 1")]
    [InlineData("--method", "l1", "--method: compare takes --methods")]
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
