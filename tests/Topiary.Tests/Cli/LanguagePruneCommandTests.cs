using System.Text.Json;
using Topiary.Language;
using Topiary.Serialization;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class LanguagePruneCommandTests
{
    [Fact]
    public void A_tiny_language_model_run_writes_a_perplexity_report_with_parts_and_samples()
    {
        using var dir = new TestDirectory();
        var corpus = dir.File("tiny.txt");
        File.WriteAllText(corpus, Topiary.Tests.Language.TinyLanguageModels.VerseText);
        var output = Path.Combine(dir.Path, "run");

        var result = CliProcess.Run("prune", "--model", "transformer-lm", "--corpus", corpus, "--context", "16", "--d-model", "16", "--heads", "2",
            "--layers", "1", "--ffn", "32", "--dense-epochs", "1", "--epochs", "1", "--eval-every", "10", "--crop-fraction", "0.2",
            "--ceiling", "1000", "--threads", "1", "--out", output);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        foreach (var file in new[] { "report.json", "report.md", "trajectory.csv", "perplexity-vs-remaining.png", "layer-sparsity.png", "model.topiary" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var root = report.RootElement;
        Assert.Equal("perplexity", root.GetProperty("metric").GetProperty("name").GetString());
        Assert.Equal(new[] { "embedding", "attention", "feed-forward" }, root.GetProperty("layer_groups").EnumerateArray().Select(g => g.GetProperty("group").GetString()));
        Assert.Equal(new[] { "dense", "dense", "pruned", "pruned" }, root.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("model").GetString()));
        Assert.True(root.GetProperty("final").GetProperty("remaining_fraction").GetDouble() < 1.0, "nothing was pruned under a loose ceiling");
        Assert.Contains("Validation perplexity", File.ReadAllText(Path.Combine(output, "report.md")));

        var loaded = ModelFile.Load(Path.Combine(output, "model.topiary"));
        Assert.Equal("transformer-lm", loaded.Architecture);
        Assert.Equal(CharacterTokenizer.FromText(File.ReadAllText(corpus)).Vocabulary, LanguageModelFile.Tokenizer("model.topiary", loaded).Vocabulary);

        // eval rebuilds the same held-out split from the file's metadata and finds the same test perplexity.
        var eval = CliProcess.Run("eval", "--model-file", Path.Combine(output, "model.topiary"));
        Assert.True(eval.ExitCode == 0, eval.StandardError);
        var finalTest = root.GetProperty("final").GetProperty("test").GetDouble();
        Assert.True(eval.StandardOutput.Contains($"test perplexity {finalTest.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}"), eval.StandardOutput);

        // The folder resumes as an image run's does, from its run.json and last checkpoint, to the same result.
        Assert.True(File.Exists(Path.Combine(output, "run.json")));
        var resumed = CliProcess.Run("prune", "--resume", output);
        Assert.True(resumed.ExitCode == 0, $"exit {resumed.ExitCode}: {resumed.StandardError}");
        Assert.Contains("resume: continuing from", resumed.StandardOutput);
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        foreach (var part in new[] { "dense", "final", "trajectory", "layers", "layer_groups" })
            Assert.Equal(root.GetProperty(part).GetRawText(), again.RootElement.GetProperty(part).GetRawText());
    }

    [Theory]
    [InlineData("--ceiling", "0.5", "--ceiling")]
    [InlineData("--floor", "0.9", "--floor")]
    [InlineData("--corpus", "/nonexistent/corpus.txt", "--corpus")]
    [InlineData("--heads", "3", "--heads")]
    public void Bad_input_is_one_line_naming_the_flag_with_exit_code_2(string flag, string value, string named)
    {
        var result = CliProcess.Run("prune", "--model", "transformer-lm", flag, value);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line);
    }
}
