using System.Globalization;
using System.Text.Json;
using Topiary.Serialization;
using Topiary.Tests.Support;
using Topiary.Language;

namespace Topiary.Tests.Cli;

public class TranslationPruneCommandTests
{
    private static readonly string[] TinyModel =
    [
        "--model", "transformer-mt", "--subset", "80", "--validation-pairs", "10", "--test-pairs", "10", "--bleu-pairs", "6",
        "--d-model", "16", "--heads", "2", "--layers", "1", "--ffn", "32", "--dense-epochs", "1", "--epochs", "1", "--batch-size", "8",
        "--eval-every", "2", "--crop-fraction", "0.2", "--ceiling", "1000", "--threads", "1",
    ];

    [Fact]
    public void A_tiny_translation_run_on_the_bibles_reports_bleu_and_parts_and_eval_reproduces_its_test_figures()
    {
        using var dir = new TestDirectory();
        var output = Path.Combine(dir.Path, "run");

        var result = CliProcess.Run(["prune", .. TinyModel, "--out", output]);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "report.json", "report.md", "trajectory.csv", "perplexity-vs-remaining.png", "layer-sparsity.png", "model.topiary" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        Assert.Equal("transformer-mt", root.GetProperty("model").GetString());
        Assert.Equal("perplexity", root.GetProperty("metric").GetProperty("name").GetString());
        Assert.Equal(new[] { "embedding", "attention", "feed-forward", "cross-attention" },
            root.GetProperty("layer_groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()));
        var translation = root.GetProperty("translation");
        Assert.Equal(6, translation.GetProperty("pairs").GetInt32());
        Assert.Equal(3, translation.GetProperty("samples").GetArrayLength());
        var prunedBleu = translation.GetProperty("pruned").GetProperty("score").GetDouble();
        Assert.InRange(prunedBleu, 0, 100);
        Assert.True(root.GetProperty("final").GetProperty("remaining_fraction").GetDouble() < 1.0, "nothing was pruned under a loose ceiling");
        Assert.Contains("## Translation", File.ReadAllText(Path.Combine(output, "report.md")));
        Assert.Contains("test BLEU (6 pairs)", result.StandardOutput);

        var loaded = ModelFile.Load(Path.Combine(output, "model.topiary"));
        Assert.Equal("transformer-mt", loaded.Architecture);
        Assert.Equal(loaded.Classes, LanguageModelFile.TranslationVocabulary("model.topiary", loaded).Size);

        // eval rebuilds the held-out pairs from the file's metadata and finds the same test perplexity and BLEU.
        var eval = CliProcess.Run("eval", "--model-file", Path.Combine(output, "model.topiary"), "--bleu-pairs", "6");
        Assert.True(eval.ExitCode == 0, eval.StandardError);
        var finalTest = root.GetProperty("final").GetProperty("test").GetDouble();
        Assert.Contains($"test perplexity {finalTest.ToString("F3", CultureInfo.InvariantCulture)}", eval.StandardOutput);
        Assert.Contains($"BLEU {prunedBleu.ToString("F2", CultureInfo.InvariantCulture)} on the first 6", eval.StandardOutput);
    }

    [Theory]
    [InlineData("--validation-pairs", "0", "--validation-pairs")]
    [InlineData("--test-pairs", "40000", "--test-pairs")]
    [InlineData("--bleu-pairs", "0", "--bleu-pairs")]
    [InlineData("--source", "/nonexistent/module", "--source")]
    [InlineData("--target", "/nonexistent/module", "--target")]
    [InlineData("--corpus", "web", "--corpus")]
    [InlineData("--method", "lobster", "--method")]
    [InlineData("--context", "1", "--context")]
    public void Bad_input_is_one_line_naming_the_flag_with_exit_code_2(string flag, string value, string named)
    {
        var result = CliProcess.Run("prune", "--model", "transformer-mt", flag, value);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line);
    }

    [Fact]
    public void Compare_runs_the_translation_methods_and_reports_bleu_per_method()
    {
        using var dir = new TestDirectory();
        var output = Path.Combine(dir.Path, "compare");
        var result = CliProcess.Run(["compare", .. TinyModel, "--methods", "relevance,none", "--seeds", "1", "--out", output]);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        var markdown = File.ReadAllText(Path.Combine(output, "comparison.md"));
        Assert.Contains("Test BLEU", markdown);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "comparison.json")));
        var summaries = report.RootElement.GetProperty("summaries").EnumerateArray().ToList();
        Assert.Equal(2, summaries.Count);
        Assert.All(summaries, s => Assert.InRange(s.GetProperty("test_bleu").GetProperty("mean").GetDouble(), 0, 100));
    }
}
